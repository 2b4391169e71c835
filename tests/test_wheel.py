"""The course as a package: `python -m build` makes a wheel with the data; installed in a fresh virtual environment,
a lab runs from a folder outside the repository; the Colab setup cell installs it, again and after a failure.

The fresh environments take their dependencies (torch, captum, jupyter, ...) from the project's .venv without
copying them: a folder of symbolic links to the .venv's site-packages, minus the course's own editable install,
is put on their path by a .pth file. So `helpers` can only come from the wheel installed in the fresh environment.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import pytest

from helpers import colab

REPO = Path(__file__).resolve().parents[1]
NAME, VERSION = colab.project_name_and_version()
WHEEL_NAME = f"{NAME.replace('-', '_')}-{VERSION}-py3-none-any.whl"
SITE_PACKAGES = Path(sysconfig.get_paths()["purelib"])
# What belongs to the course's own (editable) install in the project's environment: never visible in a fresh one.
COURSE_ENTRIES = ("__editable__", "xai_image_course", "helpers")


def clean_env(**extra) -> dict:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PIP_", "PYTHON", "VIRTUAL_ENV", "JUPYTER", "COV_", "COVERAGE"))}
    return {**env, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PYTHONNOUSERSITE": "1", **extra}


def run(command, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """sdist and wheel built by `python -m build` from a copy of the working tree's files (tracked or not ignored)."""
    root = tmp_path_factory.mktemp("build")
    source, out = root / "source", root / "dist"
    files = run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO).stdout.split("\0")
    for name in filter(None, files):
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    # --no-isolation: the build backend (setuptools, from the test extra) is taken from this environment, offline.
    run([sys.executable, "-m", "build", "--no-isolation", "--outdir", out, source], env=clean_env())
    return out


@pytest.fixture(scope="module")
def deps(tmp_path_factory) -> Path:
    """The project's site-packages as symbolic links, without the course itself and without .pth files."""
    folder = tmp_path_factory.mktemp("deps") / "site-packages"
    folder.mkdir()
    for entry in SITE_PACKAGES.iterdir():
        if entry.name.startswith(COURSE_ENTRIES) or entry.suffix == ".pth":
            continue
        (folder / entry.name).symlink_to(entry)
    return folder


@pytest.fixture
def fresh_venv(tmp_path, deps) -> Path:
    """A new virtual environment (no pip of its own: the linked one runs in it) whose path ends with ``deps``."""
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", venv])
    purelib = run([venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                  env=clean_env()).stdout.strip()
    (Path(purelib) / "_course_dependencies.pth").write_text(f"{deps}\n")
    return venv


WHERE = textwrap.dedent("""
    import importlib.metadata, json, sys
    import helpers
    print(json.dumps({"helpers": helpers.__file__, "prefix": sys.prefix,
                      "dist": str(importlib.metadata.distribution("xai-image-course")._path),
                      "finders": [repr(f) for f in sys.meta_path]}))
""")


def where(python: Path, cwd: Path) -> dict:
    return json.loads(run([python, "-c", WHERE], cwd=cwd, env=clean_env()).stdout.strip().splitlines()[-1])


def test_build_makes_a_wheel_and_an_sdist_with_the_data(dist):
    wheel = dist / WHEEL_NAME
    assert wheel.is_file(), sorted(p.name for p in dist.iterdir())
    names = set(zipfile.ZipFile(wheel).namelist())
    for data in ("cat.jpg", "coffee.jpg", "imagenet_class_index.json", "README.md"):
        assert f"helpers/data/{data}" in names, f"the wheel lacks helpers/data/{data}"
    for module in ("helpers/colab.py", "helpers/exercises/lab01.py", "helpers/grader/trusted.py", "helpers/labenv.py"):
        assert module in names
    assert not any(name.startswith(("tests/", "solutions/", "notebooks/")) for name in names)
    assert (dist / f"{NAME.replace('-', '_')}-{VERSION}.tar.gz").is_file()


def test_the_wheel_runs_a_lab_from_a_folder_outside_the_repository(dist, fresh_venv, tmp_path):
    python = fresh_venv / "bin" / "python"
    run([python, "-m", "pip", "install", "--no-deps", "--no-index", dist / WHEEL_NAME], env=clean_env())
    outside = tmp_path / "student"
    outside.mkdir()
    found = where(python, outside)
    assert Path(found["helpers"]).is_relative_to(fresh_venv), found
    assert Path(found["dist"]).is_relative_to(fresh_venv), found
    assert not any("editable" in finder for finder in found["finders"]), found["finders"]

    # The lab's solution, run by a kernel of the fresh environment in the outside folder.
    lab = "01_toy_model"
    shutil.copy(REPO / "solutions" / lab / f"{lab}.ipynb", outside / f"{lab}.ipynb")
    kernels = tmp_path / "jupyter" / "kernels" / "course"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "fresh venv", "language": "python"}))
    script = textwrap.dedent(f"""
        import nbformat, sys
        from nbclient import NotebookClient
        nb = nbformat.read("{lab}.ipynb", as_version=4)
        nb.cells.append(nbformat.v4.new_code_cell({WHERE!r}))
        NotebookClient(nb, kernel_name="course", timeout=600, resources={{"metadata": {{"path": "."}}}}).execute()
        print(nb.cells[-1].outputs[-1]["text"])
    """)
    result = run([python, "-c", script], cwd=outside,
                 env=clean_env(XAI_OFFLINE="1", OMP_NUM_THREADS="1", MPLBACKEND="Agg", JUPYTER_PATH=str(tmp_path / "jupyter")))
    in_kernel = json.loads(result.stdout.strip().splitlines()[-1])
    assert Path(in_kernel["helpers"]).is_relative_to(fresh_venv), in_kernel
    assert Path(in_kernel["prefix"]) == fresh_venv, in_kernel


# ----------------------------------------------------------------------------------------------------------------
# The Colab setup cell, in a simulated Colab: a fake google.colab module, pip pointed at a local folder.

COLAB = textwrap.dedent("""
    import contextlib, io, json, os, sys, types
    cell = open(sys.argv[1]).read()
    namespace = {"__name__": "__main__"}           # one kernel: the namespace and the process persist

    def run_cell(find_links, colab=True):
        if colab:
            sys.modules["google.colab"] = types.ModuleType("google.colab")
        else:
            sys.modules.pop("google.colab", None)
        os.environ["PIP_FIND_LINKS"] = find_links
        out = io.StringIO()
        error = None
        with contextlib.redirect_stdout(out):
            try:
                exec(compile(cell, "<setup cell>", "exec"), namespace)
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
        return {"out": out.getvalue(), "error": error}

    def importable():
        try:
            import helpers.images
        except ImportError as exc:
            return str(exc)
        width, height = helpers.images.load_image("cat").size
        return f"{helpers.__file__} cat {width}x{height}"

    steps = {}
    steps["outside_colab"] = run_cell(sys.argv[2], colab=False)
    steps["failing"] = run_cell(sys.argv[2])
    steps["after_failure"] = importable()
    if len(sys.argv) > 4:                            # the wheel appears at its URL (the connection is back)
        import shutil
        shutil.copy(sys.argv[4], sys.argv[5])
    steps["retry"] = run_cell(sys.argv[3])
    steps["after_install"] = importable()
    steps["rerun"] = run_cell(sys.argv[2])           # an empty package folder: a reinstall would fail
    print(json.dumps(steps))
""")


def simulate_colab(python: Path, cell: str, tmp_path: Path, wheels: Path, *copy_before_retry: Path) -> dict:
    """Run the cell: outside Colab, then on Colab with nothing to install, then with the wheel, then again."""
    empty = tmp_path / "no-wheels"
    empty.mkdir()
    (tmp_path / "cell.py").write_text(cell)
    (tmp_path / "colab.py").write_text(COLAB)
    outside = tmp_path / "content"
    outside.mkdir()
    result = run([python, tmp_path / "colab.py", tmp_path / "cell.py", empty, wheels, *copy_before_retry],
                 cwd=outside, env=clean_env(PIP_NO_INDEX="1"), timeout=600)
    return json.loads(result.stdout.strip().splitlines()[-1])


def check_colab_steps(steps: dict, venv: Path, spec: str) -> None:
    assert steps["outside_colab"] == {"out": "", "error": None}, steps["outside_colab"]
    failing = steps["failing"]
    assert failing["error"] and failing["error"].startswith("RuntimeError: Installing"), failing
    assert spec in failing["error"] and "run this cell again" in failing["error"], failing
    assert "Installing the course" in failing["out"] and "ERROR" in failing["out"], failing  # pip's own message shown
    assert "No module named 'helpers'" in steps["after_failure"], steps["after_failure"]
    retry = steps["retry"]
    assert retry["error"] is None, retry
    assert "Installed in" in retry["out"] and f"{NAME}-{VERSION}" in retry["out"], retry
    assert "Restart" not in retry["out"], retry
    assert steps["after_install"].startswith(str(venv)) and "cat " in steps["after_install"], steps["after_install"]
    rerun = steps["rerun"]
    assert rerun == {"out": f"The course is installed: {NAME} {VERSION}.\n", "error": None}, rerun


def test_colab_setup_cell_from_the_package_index(dist, fresh_venv, tmp_path):
    """INSTALL_FROM = "pypi": `pip install xai-image-course==VERSION`, here from a local folder instead of PyPI."""
    wheels = tmp_path / "index"
    wheels.mkdir()
    shutil.copy(dist / WHEEL_NAME, wheels)
    cell = colab.setup_cell(install_from="pypi")
    steps = simulate_colab(fresh_venv / "bin" / "python", cell, tmp_path, wheels)
    check_colab_steps(steps, fresh_venv, f"{NAME}=={VERSION}")


def test_colab_setup_cell_from_a_wheel_url(dist, fresh_venv, tmp_path):
    """INSTALL_FROM = a wheel's URL (a file: URL here): missing at first (pip fails), then there."""
    site = tmp_path / "site"
    site.mkdir()
    url = (site / WHEEL_NAME).as_uri()
    cell = colab.setup_cell(install_from=url)
    steps = simulate_colab(fresh_venv / "bin" / "python", cell, tmp_path, site, dist / WHEEL_NAME, site / WHEEL_NAME)
    check_colab_steps(steps, fresh_venv, f"{NAME} @ {url}")


def test_setup_cell_outside_colab_is_inert_and_unpublished_cell_says_so():
    namespace: dict = {}
    sys.modules.pop("google.colab", None)
    exec(compile(colab.setup_cell(install_from=None), "<cell>", "exec"), namespace)
    exec(compile(colab.setup_cell(install_from="pypi"), "<cell>", "exec"), namespace)
    assert "_install_course" not in namespace
    unpublished = colab.setup_cell(install_from=None)
    assert "pip" not in unpublished and "not published" in unpublished
