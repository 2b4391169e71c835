# Two commands do all the set-up (see README.md):
#   make lab         create .venv, install the course, open JupyterLab on notebooks/ (the student environment)
#   make test        create/reuse .venv and run the whole test suite, browser test included (what CI runs)
# Others: make lab-headless (execute the solutions), make instructor (JupyterLab with nbgrader's formgrader),
#         make test-browser (only the browser test), make release, make bench, make clean.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
STAMP = $(VENV)/.installed-stamp
STUDENT_STAMP = $(VENV)/.student-settings-stamp
# Tests run the notebooks two at a time, one thread each (2 cores), with the offline model so that the
# outputs checked by nbval are the same on every machine. --dist loadscope: a module (a notebook's nbval cells) or a
# test class (one lab's simulated class, one lab's ResNet18 validation) goes to one worker.
PYTEST_ARGS ?= -n 2 --dist loadscope --durations=25
# JupyterLab: the folder `make lab` serves, extra options (e.g. LAB_ARGS="--no-browser --port 8899"), and
# --allow-root when run as root (containers, some JupyterHub images).
LAB_DIR ?= notebooks
LAB_ARGS ?=
ROOT_FLAG = $(if $(filter 0,$(shell id -u)),--allow-root)
# The server reads a lab with this Python's language_info, so that JupyterLab does not mark it modified on open.
SERVER_ARGS = $(ROOT_FLAG) --ServerApp.contents_manager_class=helpers.labenv.CourseContentsManager
# The environment's programs first on PATH (nbgrader's gradebook runs `alembic`; terminals get the course's python).
SERVER_PATH = PATH="$(abspath $(BIN)):$$PATH"
# Students get nbgrader's Validate button only: the other nbgrader extensions are disabled in the environment's own
# settings (--level=sys_prefix / --sys-prefix, nbgrader's documented way), and locked (the Plugin Manager cannot turn
# them on). `make instructor` turns them back on for its own server only (jupyter-config/instructor/, placed first on
# JUPYTER_CONFIG_PATH).
NBGRADER_LAB_OFF = @jupyter/nbgrader:menu @jupyter/nbgrader:formgrader @jupyter/nbgrader:create-assignment \
	@jupyter/nbgrader:assignment-list @jupyter/nbgrader:course-list
NBGRADER_SERVER_OFF = nbgrader.server_extensions.formgrader nbgrader.server_extensions.assignment_list \
	nbgrader.server_extensions.course_list
INSTRUCTOR_CONFIG = $(CURDIR)/jupyter-config/instructor

.PHONY: install lab lab-headless instructor test test-suite test-browser release bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e ".[course,test]"
	touch $(STAMP)

$(STUDENT_STAMP): $(STAMP) Makefile
	$(BIN)/jupyter labextension disable --level=sys_prefix $(NBGRADER_LAB_OFF)
	$(BIN)/jupyter labextension lock --level=sys_prefix $(NBGRADER_LAB_OFF)
	for extension in $(NBGRADER_SERVER_OFF); do \
		$(BIN)/jupyter server extension disable --sys-prefix $$extension || exit 1; done
	touch $(STUDENT_STAMP)

install: $(STAMP) $(STUDENT_STAMP)

lab: install
	$(SERVER_PATH) $(BIN)/jupyter lab $(SERVER_ARGS) --ServerApp.root_dir="$(LAB_DIR)" $(LAB_ARGS)

lab-headless: install
	XAI_OFFLINE=$${XAI_OFFLINE:-} $(BIN)/python -m helpers.course run-solutions --output runs

# The formgrader needs the course root (the grading workspace) under the server's root: the repository top.
instructor: install
	$(BIN)/python -m helpers.labenv check-grading-dir
	$(SERVER_PATH) JUPYTER_CONFIG_PATH="$(INSTRUCTOR_CONFIG)$${JUPYTER_CONFIG_PATH:+:$$JUPYTER_CONFIG_PATH}" \
		$(BIN)/jupyter lab $(SERVER_ARGS) --ServerApp.root_dir="$(CURDIR)" $(LAB_ARGS)

test: test-suite test-browser

test-suite: install
	XAI_OFFLINE=1 OMP_NUM_THREADS=1 MPLBACKEND=Agg $(BIN)/pytest $(PYTEST_ARGS) tests solutions --ignore=tests/browser --nbval-lax --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg

# Starts `make lab` headless and drives it with Playwright and Debian's Chromium (/usr/bin/chromium; .ci/run installs it).
test-browser: install
	XAI_OFFLINE=1 $(BIN)/pytest -p no:cacheprovider -v tests/browser

release: install
	$(BIN)/python -m helpers.course release

bench: install
	$(BIN)/python benchmarks/bench_reference.py

clean:
	rm -rf $(VENV) runs grading
