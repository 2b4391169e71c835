"""nbgrader validate --invert: the untouched student notebook passes none of the tests."""
import pytest

from helpers import course

LABS = course.labs()


@pytest.mark.parametrize("lab", LABS)
def test_student_notebook_fails_every_test(lab):
    path = course.NOTEBOOKS / lab / f"{lab}.ipynb"
    result = course.nbgrader("validate", "--invert", str(path), check=False)
    assert "Success! The notebook does not pass any tests." in result.stdout, result.stdout[-4000:] + result.stderr[-2000:]
