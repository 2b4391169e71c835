"""Distribution of the tests over the pytest-xdist workers (``--dist loadgroup``, see the Makefile).

Each file is one group (as ``--dist loadfile``: a notebook's nbval cells share one kernel, a module's fixtures are
set up once), except the tests marked ``xdist_group`` themselves: the simulated class of each lab
(tests/test_autograde.py) and the ResNet18 validation of each lab (tests/test_validate_online.py) are groups of
their own, so that the heaviest files spread over both workers.
"""
import pytest


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))
