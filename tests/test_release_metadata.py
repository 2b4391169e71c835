"""Released notebooks open clean: no execution metadata or counts, the complete kernelspec and language_info that
JupyterLab would write on opening (else it marks the lab modified at once). The browser test checks the same in
JupyterLab itself (tests/browser)."""
import sys

import nbformat
import pytest

from helpers import course
from helpers.labenv import PYTHON_KERNELSPEC, check_clean, kernel_language_info

LABS = course.labs()


@pytest.mark.parametrize("lab", LABS)
def test_released_notebook_is_clean(lab):
    nb = nbformat.read(course.NOTEBOOKS / lab / f"{lab}.ipynb", as_version=4)
    assert check_clean(nb) == [], f"notebooks/{lab}: run `python -m helpers.course release {lab}`"
    assert all(not cell.get("outputs") for cell in nb.cells if cell.cell_type == "code")


def test_release_writes_clean_metadata(tmp_path):
    """The release step itself (nbgrader's GenerateAssignment with helpers.labenv.CleanReleaseMetadata)."""
    lab = LABS[0]
    course.release([lab], release_dir=tmp_path / "release", grading_dir=tmp_path / "grading")
    nb = nbformat.read(tmp_path / "release" / lab / f"{lab}.ipynb", as_version=4)
    assert check_clean(nb) == []
    assert nb.metadata.kernelspec == PYTHON_KERNELSPEC
    assert nb.metadata.language_info == kernel_language_info()
    assert nb.metadata.language_info["version"] == sys.version.split()[0]


def test_check_clean_names_what_is_wrong():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("1 + 1")
    cell.execution_count = 3
    cell.metadata["execution"] = {"iopub.status.busy": "2026-11-25T14:25:38.263080Z"}
    nb.cells.append(cell)
    nb.metadata["kernelspec"] = dict(PYTHON_KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    problems = "\n".join(check_clean(nb))
    assert "execution metadata" in problems and "execution count" in problems and "language_info lacks" in problems


def test_lab_server_reads_a_lab_with_this_pythons_language_info(tmp_path):
    """`make lab` serves with CourseContentsManager: a lab released under another Python opens unmodified too."""
    import asyncio

    from helpers.labenv import CourseContentsManager

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
    nb.metadata["kernelspec"] = dict(PYTHON_KERNELSPEC)
    nb.metadata["language_info"] = {**kernel_language_info(), "version": "3.0.1"}
    nbformat.write(nb, tmp_path / "lab.ipynb")
    on_disk = (tmp_path / "lab.ipynb").read_bytes()
    manager = CourseContentsManager(root_dir=str(tmp_path))
    model = asyncio.run(manager.get("lab.ipynb"))
    assert model["content"]["metadata"]["language_info"] == kernel_language_info()
    assert (tmp_path / "lab.ipynb").read_bytes() == on_disk
    listing = asyncio.run(manager.get("", content=True))
    assert [item["name"] for item in listing["content"]] == ["lab.ipynb"]
