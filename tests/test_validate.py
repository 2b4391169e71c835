"""nbgrader validate passes on every solution; nbgrader validate --invert fails every test of every student notebook."""
import pytest

from helpers import course

LABS = course.labs()


@pytest.mark.parametrize("lab", LABS)
def test_solution_passes_nbgrader_validate(lab):
    result = course.nbgrader("validate", str(course.solution_path(lab)), check=False)
    assert "Success! Your notebook passes all the tests." in result.stdout, result.stdout[-4000:] + result.stderr[-2000:]
