"""The grader's sandboxes on tiny notebooks (helpers.grader.kernel, sandbox, submission): a kernel that fails to start
(a loaded machine) is started again; two grading processes never give the same user id to two sandboxes; the
kernel, the from-scratch sandboxes and the checker compute with the same threads."""
import os
import subprocess
import sys

import nbformat
import pytest

from helpers import course
from helpers.grader import kernel, sandbox, submission
from helpers.grader.sandbox import sandbox_problem


@pytest.fixture
def options():
    problem = sandbox_problem()
    if problem:
        pytest.fail(f"the grading sandbox is needed (CI installs bubblewrap): {problem}")
    return submission.Options()


def notebook(*sources):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    return nb


def test_a_kernel_that_did_not_start_is_started_again(tmp_path, monkeypatch, options):
    real, starts = kernel.SandboxKernelManager.format_kernel_cmd, []

    def first_start_fails(self, extra_arguments=None):
        starts.append(1)
        if len(starts) == 1:  # a kernel process that dies before it answers, as on an overloaded machine
            return self.sandbox.command(["/bin/false"])
        return real(self, extra_arguments)

    monkeypatch.setattr(kernel.SandboxKernelManager, "format_kernel_cmd", first_start_fails)
    nb = notebook("print(6 * 7)")
    outcome = submission._run_kernel(nb, tmp_path / "kernel", {}, options)
    assert len(starts) == 2 and outcome.started, outcome.problems
    assert outcome.problems[0].startswith("the kernel did not start at the first try"), outcome.problems
    assert outcome.notebook.cells[0].outputs[0]["text"] == "42\n"
    assert nb.cells[0].outputs == [], "the hand-in's notebook itself is not modified"


def test_a_notebook_whose_cells_ran_is_not_run_twice(tmp_path, monkeypatch, options):
    calls = []
    real = submission.execute_notebook
    monkeypatch.setattr(submission, "execute_notebook", lambda *args: calls.append(1) or real(*args))
    outcome = submission._run_kernel(notebook("raise SystemExit('student code stops here')", "print('after')"),
                                     tmp_path / "kernel", {}, options)
    assert calls == [1] and outcome.started
    assert outcome.notebook.cells[1].outputs[0]["text"] == "after\n"


def test_kernel_sandboxes_and_checker_compute_with_the_same_threads(tmp_path, monkeypatch):
    """The same computation must give the same bits in the student's sandboxes and in the trusted checker."""
    options = course.grading_options(jobs=2)
    seen = {"kernel": submission._kernel_env(options, tmp_path / "recorded")}

    class Recorder(submission.Sandbox):
        def popen(self, argv, **kwargs):
            seen["scratch"] = self.env

    monkeypatch.setattr(submission, "_sandbox", lambda options: Recorder)
    box, _ = submission._start_scratch("01_toy_model", [], {}, "v", tmp_path / "scratch", options)
    box.close()
    with monkeypatch.context() as patch:
        patch.setattr(submission.subprocess, "Popen", lambda argv, env, **kwargs: seen.setdefault("checker", env))
        submission._start_checker({}, tmp_path, options)
    threads = {name: (env["OMP_NUM_THREADS"], env["MKL_NUM_THREADS"]) for name, env in seen.items()}
    assert sorted(threads) == ["checker", "kernel", "scratch"] and set(threads.values()) == {("1", "1")}, threads


TAKE_UID = """
import sys
from pathlib import Path
from helpers.grader import sandbox
sandbox.UID_LOCKS = Path(sys.argv[1])
print(sandbox._take_uid(), flush=True)
input()
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="sandbox user ids are taken only by a grader running as root")
def test_two_grading_processes_never_share_a_sandbox_user_id(tmp_path, monkeypatch):
    locks = tmp_path / "uids"  # this test's own ids: other graders may run at the same time
    monkeypatch.setattr(sandbox, "UID_LOCKS", locks)
    other = subprocess.Popen([sys.executable, "-c", TAKE_UID, str(locks)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    mine = []
    try:
        theirs = int(other.stdout.readline())
        mine = [sandbox._take_uid() for _ in range(3)]
        assert theirs == sandbox.FIRST_UID and sorted(mine) == [theirs + 1, theirs + 2, theirs + 3], (theirs, mine)
    finally:
        other.kill()
        other.wait()
        for uid in mine:
            sandbox._release_uid(uid)
    again = sandbox._take_uid()
    sandbox._release_uid(again)
    assert again == theirs, "the id of a grading process that died is free again"
    locks.chmod(0o755)
    with pytest.raises(RuntimeError, match="mode 700"):
        sandbox._take_uid()


def test_a_course_under_tmp_stays_visible_in_the_sandbox(tmp_path):
    """The sandbox's /tmp is a tmpfs: the Python environment and the course are bound after it (a clone in /tmp)."""
    box = sandbox.Sandbox(tmp_path / "box")
    try:
        view = box._view()
    finally:
        box.close()
    tmpfs = next(i for i, arg in enumerate(view) if arg == "--tmpfs" and view[i + 1] == "/tmp")
    binds = [i for i, arg in enumerate(view) if arg == "--ro-bind" and view[i + 1] in
             {str(p) for p in (*sandbox.Sandbox._course_paths(), sandbox.Path(sys.prefix).resolve())}]
    assert binds and all(i > tmpfs for i in binds), (tmpfs, binds)
