"""The course's Jupyter environments: clean released notebooks, and the servers of ``make lab`` / ``make instructor``.

- ``CleanReleaseMetadata`` (an nbconvert preprocessor, last in ``c.GenerateAssignment.preprocessors``): a released
  notebook carries no execution metadata (``execution``/``ExecuteTime`` timestamps, execution counts) and the
  complete ``kernelspec`` and ``language_info`` that JupyterLab writes when the kernel starts, so that JupyterLab
  does not mark a lab as modified (●) as soon as it opens. ``check_clean(nb)`` lists what is not clean (the tests).
- ``CourseContentsManager`` (``make lab`` and ``make instructor`` serve with it): JupyterLab compares the whole
  ``language_info`` with its kernel's, Python's patch version included, so a lab released with Python 3.11.7 would
  still open as modified beside Python 3.12. The server gives a notebook whose kernel is this Python the
  ``language_info`` of this Python when it reads it (the file is not changed).
- ``python -m helpers.labenv check-grading-dir``: nbgrader's formgrader works only when the course root (the grading
  workspace, ``grading/`` or $XAI_GRADING_DIR) is inside the server's root folder (``make instructor`` serves the
  repository top); this says so before the server starts.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYTHON_KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
EXECUTION_METADATA = ("execution", "ExecuteTime")


def kernel_language_info() -> dict:
    """The ``language_info`` that ipykernel reports for this Python (what JupyterLab stores on kernel start)."""
    return {
        "codemirror_mode": {"name": "ipython", "version": sys.version_info[0]},
        "file_extension": ".py",
        "mimetype": "text/x-python",
        "name": "python",
        "nbconvert_exporter": "python",
        "pygments_lexer": "ipython3",
        "version": sys.version.split()[0],
    }


def clean_notebook(nb) -> None:
    """Remove execution metadata and counts; complete kernelspec and language_info (in place)."""
    for cell in nb.cells:
        for key in EXECUTION_METADATA:
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            cell.execution_count = None
            for output in cell.get("outputs", []):
                if "execution_count" in output:
                    output["execution_count"] = None
    nb.metadata["kernelspec"] = dict(PYTHON_KERNELSPEC)
    nb.metadata["language_info"] = kernel_language_info()


def check_clean(nb) -> list[str]:
    """What makes ``nb`` open as modified or carry run traces: an empty list when it is clean."""
    problems = []
    for index, cell in enumerate(nb.cells):
        found = [key for key in EXECUTION_METADATA if key in cell.metadata]
        if found:
            problems.append(f"cell {index} has execution metadata {found}")
        if cell.cell_type == "code" and cell.get("execution_count") is not None:
            problems.append(f"cell {index} has an execution count")
    if nb.metadata.get("kernelspec") != PYTHON_KERNELSPEC:
        problems.append(f"kernelspec is {nb.metadata.get('kernelspec')}, not {PYTHON_KERNELSPEC}")
    language_info = nb.metadata.get("language_info", {})
    expected = kernel_language_info()
    missing = sorted(set(expected) - set(language_info))
    if missing:
        problems.append(f"language_info lacks {missing}")
    different = sorted(key for key in expected if key != "version" and key in language_info
                       and language_info[key] != expected[key])
    if different:
        problems.append(f"language_info differs from ipykernel's in {different}")
    return problems


try:
    from nbconvert.preprocessors import Preprocessor
    from traitlets import Bool
except ImportError:  # the package without the course extra (e.g. on Colab): only the functions above are used
    Preprocessor, Bool = object, lambda value: value


class CleanReleaseMetadata(Preprocessor):
    """nbgrader/nbconvert preprocessor: ``clean_notebook`` on every released notebook."""

    enabled = Bool(True)  # nbconvert's preprocessors are off unless enabled; nbgrader's are on

    def preprocess(self, nb, resources):
        clean_notebook(nb)
        return nb, resources


try:
    from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager
except ImportError:  # the package without the course extra
    AsyncLargeFileManager = None

if AsyncLargeFileManager is not None:
    class CourseContentsManager(AsyncLargeFileManager):
        """JupyterLab's contents manager, reading a Python 3 notebook with this Python's ``language_info``."""

        async def get(self, path, content=True, type=None, format=None, **kwargs):
            model = await super().get(path, content=content, type=type, format=format, **kwargs)
            if content and model.get("type") == "notebook" and isinstance(model.get("content"), dict):
                metadata = model["content"].get("metadata", {})
                if (metadata.get("kernelspec", {}).get("name") == "python3"
                        and metadata.get("language_info", {}).get("name", "python") == "python"):
                    metadata["language_info"] = kernel_language_info()
            return model


def grading_dir_problem(grading_dir: Path | None = None, server_root: Path = REPO) -> str | None:
    """Why the formgrader cannot work with this grading workspace, or None."""
    # Not resolved: nbgrader compares the paths as written, so a symbolic link inside the repository works.
    grading_dir = Path(os.path.abspath(grading_dir or os.environ.get("XAI_GRADING_DIR") or REPO / "grading"))
    try:
        grading_dir.relative_to(os.path.abspath(server_root))
    except ValueError:
        return (f"The grading workspace {grading_dir} ($XAI_GRADING_DIR) is outside {server_root}: nbgrader's "
                f"formgrader needs it inside the folder JupyterLab serves. Use a folder inside the repository, or "
                f"a symbolic link inside it (e.g. ln -s {grading_dir} {server_root / 'grading'}, then unset "
                f"XAI_GRADING_DIR).")
    return None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv != ["check-grading-dir"]:
        print("usage: python -m helpers.labenv check-grading-dir", file=sys.stderr)
        return 2
    problem = grading_dir_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 1
    grading_dir = Path(os.environ.get("XAI_GRADING_DIR") or REPO / "grading")
    grading_dir.mkdir(parents=True, exist_ok=True)
    print(f"Formgrader: course root {grading_dir.resolve()} (nbgrader_config.py), served from {REPO}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
