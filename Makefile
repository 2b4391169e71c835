# Two commands do all the set-up (see README.md):
#   make lab    create .venv, install the course, open JupyterLab   (make lab-headless: execute the solutions instead)
#   make test   create/reuse .venv and run the whole test suite (what CI runs)
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
STAMP = $(VENV)/.installed-stamp
# Tests run the notebooks two at a time, one thread each (2 cores), with the offline model so that the
# outputs checked by nbval are the same on every machine.
PYTEST_ARGS ?= -n 2 --dist loadfile --durations=25

.PHONY: install lab lab-headless test release bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e ".[course,test]"
	touch $(STAMP)

install: $(STAMP)

lab: install
	$(BIN)/jupyter lab notebooks/

lab-headless: install
	XAI_OFFLINE=$${XAI_OFFLINE:-} $(BIN)/python -m helpers.course run-solutions --output runs

test: install
	XAI_OFFLINE=1 OMP_NUM_THREADS=1 MPLBACKEND=Agg $(BIN)/pytest $(PYTEST_ARGS) tests solutions --nbval-lax --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg

release: install
	$(BIN)/python -m helpers.course release

bench: install
	$(BIN)/python benchmarks/bench_reference.py

clean:
	rm -rf $(VENV) runs grading
