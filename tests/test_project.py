"""The project's own files: dependency ranges agree between pyproject.toml and environment.yml; set-up commands."""
import re
import sys
from pathlib import Path

import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

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
    assert "make test" in readme and "make test" in ci
    assert "make lab" in readme and "make lab-headless" in readme


def test_readme_lists_every_lab_with_a_colab_badge():
    from helpers import course

    readme = (REPO / "README.md").read_text()
    for lab in course.labs():
        assert colab_url(f"notebooks/{lab}/{lab}.ipynb") in readme, f"README misses the Colab link of {lab}"
    assert REPOSITORY_URL in readme
