"""Instructor commands: ``python -m helpers.course COMMAND``.

    release          write the Colab setup cell into every solution, regenerate every student notebook
    run-solutions    execute every solution notebook headless (what `make lab-headless` runs)

Every folder of ``solutions/`` is one lab (one nbgrader assignment). nbgrader reads ``nbgrader_config.py`` at the
top of the repository; its grading workspace (gradebook, submissions, feedback) is ``grading/`` or $XAI_GRADING_DIR.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat

from helpers.colab import SETUP_CELL

REPO = Path(__file__).resolve().parents[1]
SOLUTIONS = REPO / "solutions"
NOTEBOOKS = REPO / "notebooks"
SETUP_CELL_ID = "colab-setup"


def labs() -> list[str]:
    """Names of the labs: the folders of ``solutions/`` that hold a notebook of the same name."""
    return sorted(p.name for p in SOLUTIONS.iterdir() if (p / f"{p.name}.ipynb").is_file())


def grading_workspace() -> Path:
    """nbgrader's course root: gradebook.db, submitted/, autograded/, feedback/ (see nbgrader_config.py)."""
    return Path(os.environ.get("XAI_GRADING_DIR", REPO / "grading"))


def solution_path(lab: str) -> Path:
    return SOLUTIONS / lab / f"{lab}.ipynb"


def nbgrader(*args: str, env: dict | None = None, timeout: float | None = None, check: bool = True):
    """Run an nbgrader command from the repository top (where nbgrader_config.py is)."""
    command = [sys.executable, "-m", "nbgrader", *args]
    # nbgrader runs `alembic` from PATH: put this environment's scripts first even when it is not activated.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    result = subprocess.run(command, cwd=REPO, env={**os.environ, "PATH": path, **(env or {})}, capture_output=True,
                            text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def write_setup_cell(lab: str) -> bool:
    """Make the first cell of the lab's solution notebook the Colab setup cell; True if the file changed."""
    path = solution_path(lab)
    nb = nbformat.read(path, as_version=4)
    first = nb.cells[0] if nb.cells else None
    if first is not None and first.get("id") == SETUP_CELL_ID and first.source == SETUP_CELL:
        return False
    if first is not None and first.get("id") == SETUP_CELL_ID:
        first.source = SETUP_CELL
    else:
        cell = nbformat.v4.new_code_cell(SETUP_CELL)
        cell.id = SETUP_CELL_ID
        nb.cells.insert(0, cell)
    nbformat.write(nb, path)
    return True


def release(lab_names: list[str] | None = None, release_dir: Path | None = None, grading_dir: Path | None = None):
    """Regenerate the student notebooks of ``lab_names`` (all labs by default) with nbgrader.

    ``release_dir``/``grading_dir`` redirect the output and the gradebook (the sync test uses a temporary folder).
    """
    env = {}
    (grading_dir or grading_workspace()).mkdir(parents=True, exist_ok=True)
    if release_dir is not None:
        env["XAI_RELEASE_DIR"] = str(release_dir)
    if grading_dir is not None:
        env["XAI_GRADING_DIR"] = str(grading_dir)
    for lab in lab_names or labs():
        if release_dir is None:
            write_setup_cell(lab)
        nbgrader("generate_assignment", lab, "--force", env=env)
        print(f"released {lab}")


def run_solutions(output_dir: Path) -> None:
    """Execute every solution notebook (offline-safe), writing executed copies to ``output_dir``."""
    from nbclient import NotebookClient

    output_dir.mkdir(parents=True, exist_ok=True)
    for lab in labs():
        nb = nbformat.read(solution_path(lab), as_version=4)
        start = time.perf_counter()
        NotebookClient(nb, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(solution_path(lab).parent)}}).execute()
        nbformat.write(nb, output_dir / f"{lab}.ipynb")
        print(f"{lab}: executed in {time.perf_counter() - start:.1f} s -> {output_dir / (lab + '.ipynb')}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.course", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    p_release = commands.add_parser("release", help="regenerate the student notebooks from the solutions")
    p_release.add_argument("labs", nargs="*", help="labs to release (default: all)")
    p_run = commands.add_parser("run-solutions", help="execute every solution notebook headless")
    p_run.add_argument("--output", type=Path, default=REPO / "runs", help="folder for the executed notebooks")
    args = parser.parse_args(argv)
    if args.command == "release":
        release(args.labs or None)
    elif args.command == "run-solutions":
        run_solutions(args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
