"""The instructor's grader: student code runs in sandboxes, scores are decided in a trusted process.

- :mod:`~helpers.grader.sandbox`: bubblewrap sandboxes with resource limits (:mod:`~helpers.grader.enter` starts them);
- :mod:`~helpers.grader.kernel`: a notebook executed by a Jupyter kernel inside a sandbox;
- :mod:`~helpers.grader.scratch`: the from-scratch sandbox (no Captum, no reference implementations);
- :mod:`~helpers.grader.trusted`: the checker, a fresh process where no student code runs;
- :mod:`~helpers.grader.submission`: one submission from hand-in to gradebook (used by ``helpers.course``).
"""
