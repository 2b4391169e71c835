"""The project's own files: dependency ranges agree between pyproject.toml and environment.yml; set-up commands;
the course's address (README badges, setup cells) comes from helpers/colab.py; the two JupyterLab environments."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from helpers import colab
from helpers.colab import REPOSITORY_URL, colab_url

REPO = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"pytorch": "torch"}  # conda-forge name -> PyPI name


def split_requirement(text):
    match = re.match(r"\s*([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*(.*)$", text)
    return match.group(1).lower(), match.group(3).replace(" ", "")


def pyproject_requirements():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements += extra
    # Requirements with an environment marker (tomli on Python 3.10) have no conda counterpart.
    return dict(split_requirement(r) for r in requirements if ";" not in r)


def conda_requirements():
    environment = yaml.safe_load((REPO / "environment.yml").read_text())
    found = {}
    for item in environment["dependencies"]:
        entries = item["pip"] if isinstance(item, dict) else [item]
        for entry in entries:
            name, spec = split_requirement(entry)
            found[CONDA_NAMES.get(name, name)] = spec
    return found


def test_environment_yml_has_the_same_ranges_as_pyproject():
    conda = conda_requirements()
    python = conda.pop("python")
    conda.pop("pip")
    assert conda == pyproject_requirements()
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert python == project["requires-python"] == ">=3.10"


def test_ranges_do_not_pin_torch():
    requirements = pyproject_requirements()
    assert requirements["torch"] == ">=2.3" and requirements["torchvision"] == ">=0.18"
    assert requirements["captum"] == ">=0.9"
    assert requirements["jupyterlab"] == ">=4.2,<5"


def test_ci_runs_the_readme_test_command():
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    makefile = (REPO / "Makefile").read_text()
    assert "make test " in readme and re.search(r"^make test$", ci, re.M)
    assert "make lab" in readme and "make lab-headless" in readme and "make instructor" in readme
    # `make test` is the whole suite and the browser test; CI installs what the browser test needs.
    assert re.search(r"^test: test-suite test-browser$", makefile, re.M)
    assert "apt-get install" in ci and "chromium" in ci and "bubblewrap" in ci


def test_readme_is_generated_from_the_address_settings():
    """The lab table's Colab column and the set-up lines are what `python -m helpers.colab readme` writes."""
    from helpers import course

    readme = (REPO / "README.md").read_text()
    assert colab.render_readme(readme) == readme, "run `python -m helpers.colab readme` (or set-address)"
    for lab in course.labs():
        assert f"(notebooks/{lab}/{lab}.ipynb)" in readme, f"README misses {lab}"
        if REPOSITORY_URL:
            assert colab_url(f"notebooks/{lab}/{lab}.ipynb") in readme, f"README misses the Colab link of {lab}"
    if REPOSITORY_URL:
        assert REPOSITORY_URL in readme
    else:
        assert "python -m helpers.colab set-address https://github.com/OWNER/REPO" in readme
        assert "colab.research.google.com/github" not in readme


def test_no_placeholder_address_remains():
    """No address that the course does not own: neither the old placeholder nor any other GitHub repository."""
    placeholder = "xai-course/" + "xai-image-classifiers"
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                           capture_output=True, text=True, check=True).stdout.split()
    offenders = []
    for name in files:
        path = REPO / name
        if not path.is_file() or path.suffix not in {".py", ".md", ".ipynb", ".toml", ".yml", ".cfg", ""}:
            continue
        text = path.read_text(errors="replace")
        unset_badge = REPOSITORY_URL is None and path.suffix in {".md", ".ipynb"} and "colab.research.google.com/github/" in text
        if placeholder in text or unset_badge:
            offenders.append(name)
    assert offenders == [], f"placeholder or unset addresses in {offenders} (release the labs again)"


def test_set_address_rewrites_the_settings_readme_and_setup_cell(tmp_path):
    """`python -m helpers.colab set-address URL` on a copy of the files it edits (--no-release: no nbgrader here)."""
    (tmp_path / "helpers").mkdir()
    for name in ("helpers/colab.py", "README.md", "pyproject.toml"):
        (tmp_path / name).write_text((REPO / name).read_text())
    url = "https://github.com/example-university/xai-course"
    subprocess.run([sys.executable, str(tmp_path / "helpers" / "colab.py"), "set-address", url + ".git",
                    "--install-from", "git", "--no-release"], check=True, capture_output=True, text=True)
    source = (tmp_path / "helpers" / "colab.py").read_text()
    assert f"REPOSITORY_URL: str | None = {url!r}" in source and "INSTALL_FROM: str | None = 'git'" in source
    readme = (tmp_path / "README.md").read_text()
    assert "https://colab.research.google.com/github/example-university/xai-course/blob/main/notebooks/" in readme
    assert f"git clone {url} && cd xai-course" in readme and "set-address https://github.com/OWNER" not in readme
    name, version = colab.project_name_and_version()
    cell = subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
                           "import helpers.colab as c; print(c.SETUP_CELL)", str(tmp_path)],
                          check=True, capture_output=True, text=True, cwd=tmp_path).stdout
    assert f"{name} @ git+{url}@v{version}" in cell
    # Back to the unset state: the README is the repository's again.
    assert colab.render_readme(readme, None, None) == (REPO / "README.md").read_text() or REPOSITORY_URL
    bad = subprocess.run([sys.executable, str(tmp_path / "helpers" / "colab.py"), "set-address",
                          "https://gitlab.com/a/b"], capture_output=True, text=True)
    assert bad.returncode == 2 and "Colab opens notebooks from GitHub" in bad.stderr


def test_setup_cell_pins_the_version_of_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert colab.project_name_and_version() == (project["name"], project["version"])
    assert colab.requirement("pypi") == f"{project['name']}=={project['version']}"
    assert f"version=\"{project['version']}\"" in colab.setup_cell("pypi")


NBGRADER_TOOLS = ["@jupyter/nbgrader:menu", "@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment"]
STUDENT_OFF = NBGRADER_TOOLS + ["@jupyter/nbgrader:assignment-list", "@jupyter/nbgrader:course-list"]
PAGE_CONFIG = ("from jupyterlab_server.config import get_static_page_config; import json; "
               "print(json.dumps(get_static_page_config(level='all')))")


def disabled_plugins(env: dict) -> set:
    config = json.loads(subprocess.run([sys.executable, "-c", PAGE_CONFIG], env=env, capture_output=True, text=True,
                                       check=True).stdout)
    return {name for name, off in config.get("disabledExtensions", {}).items() if off}


def test_student_and_instructor_lab_settings():
    """The environment (.venv, after `make install`) has Validate only; make instructor's config adds the tools."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER")}
    student = disabled_plugins(env)
    assert set(STUDENT_OFF) <= student, f"run `make install` (student settings): {student}"
    assert "@jupyter/nbgrader:validate-assignment" not in student
    instructor = disabled_plugins({**env, "JUPYTER_CONFIG_PATH": str(REPO / "jupyter-config" / "instructor")})
    assert not set(NBGRADER_TOOLS) & instructor and "@jupyter/nbgrader:validate-assignment" not in instructor
    server = json.loads((REPO / "jupyter-config" / "instructor" / "jupyter_server_config.json").read_text())
    assert server["ServerApp"]["jpserver_extensions"] == {"nbgrader.server_extensions.formgrader": True}
    makefile = (REPO / "Makefile").read_text()
    assert "--level=sys_prefix" in makefile and "--sys-prefix" in makefile and "--allow-root" in makefile
