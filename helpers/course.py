"""Instructor commands: ``python -m helpers.course COMMAND`` (``--help`` on each command).

    release [LAB...]                  write the Colab setup cell into every solution, regenerate the student notebooks
    collect LAB FOLDER|ZIP            file handed-in .ipynb files as grading/submitted/<student>/LAB/LAB.ipynb
    autograde LAB [--jobs N]          grade every collected submission of LAB (resumes; --force regrades)
    feedback LAB [--student ID]       HTML feedback per student in grading/feedback/<student>/LAB/
    export [--to FILE]                all grades to grading/grades.csv
    summary [LAB...]                  one line per lab: submissions, mean score, failures and what happened
    run-solutions                     execute every solution notebook headless (what `make lab-headless` runs)

Every folder of ``solutions/`` is one lab (one nbgrader assignment). nbgrader reads ``nbgrader_config.py`` at the
top of the repository; its grading workspace (gradebook, submissions, feedback) is ``grading/`` or $XAI_GRADING_DIR.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import nbformat

from helpers.colab import SETUP_CELL
from helpers.grader import submission

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
    """Run an nbgrader command from the repository top (where nbgrader_config.py is).

    On ``timeout`` (seconds) the whole process group is killed, kernels included, and ``TimeoutExpired`` is raised.
    """
    command = [sys.executable, "-m", "nbgrader", *args]
    env = {**os.environ, "PATH": _with_venv_scripts_on_path(), **(env or {})}
    with subprocess.Popen(command, cwd=REPO, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          start_new_session=True) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise
    result = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
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


# ----------------------------------------------------------------------------------------------------------------
# Grading a class: collect -> autograde -> feedback -> export -> summary (everything lives in grading_workspace()).

LARGE_SUBMISSION_BYTES = 20_000_000
MAX_SUBMISSION_BYTES = 500_000_000


def submitted_path(lab: str, student: str) -> Path:
    return grading_workspace() / "submitted" / student / lab / f"{lab}.ipynb"


def report_path(lab: str, student: str) -> Path:
    """What happened when a submission was graded (JSON): grading/reports/<lab>/<student>.json."""
    return grading_workspace() / "reports" / lab / f"{student}.json"


def students(lab: str) -> list[str]:
    """Students with a submission folder for ``lab`` in grading/submitted/ (valid student ids only)."""
    root = grading_workspace() / "submitted"
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if submission.STUDENT_ID.match(p.name) and (p / lab).is_dir())


def check_student_id(student: str) -> str:
    """``student`` if it is a valid id (letters, digits, ``. _ @ -``, not starting with a dot), else ValueError."""
    if not isinstance(student, str) or not submission.STUDENT_ID.match(student):
        raise ValueError(f"student id should be 1-64 letters, digits or . _ @ - (not starting with a dot), "
                         f"got {student!r}")
    return student


def _with_venv_scripts_on_path() -> str:
    """PATH with this environment's scripts first: nbgrader runs `alembic` from PATH (also when not activated)."""
    scripts, path = str(Path(sys.executable).parent), os.environ.get("PATH", "")
    return path if path.split(os.pathsep)[0] == scripts else os.pathsep.join([scripts, path])


def _gradebook():
    from nbgrader.api import Gradebook

    os.environ["PATH"] = _with_venv_scripts_on_path()  # a new gradebook.db is created with `alembic`

    return Gradebook(f"sqlite:///{grading_workspace() / 'gradebook.db'}", course_id="xai-image-classifiers")


def ensure_assignment(lab: str) -> None:
    """Make sure the gradebook knows the lab (its test cells and their checksums) and that the release it was made
    from is in grading/release/ (the base of every rebuilt submission); generate both with nbgrader if not.
    ``notebooks/`` is left as it is.
    """
    from nbgrader.api import MissingEntry

    grading_workspace().mkdir(parents=True, exist_ok=True)
    with _gradebook() as gb:
        try:
            known = bool(gb.find_assignment(lab).notebooks)
        except MissingEntry:
            known = False
    if known and (grading_workspace() / "release" / lab / f"{lab}.ipynb").is_file():
        return
    nbgrader("generate_assignment", lab, "--force", env={"XAI_RELEASE_DIR": str(grading_workspace() / "release"),
                                                         "XAI_GRADING_DIR": str(grading_workspace())})


def collect(lab: str, source: Path, regexp: str | None = None) -> list[str]:
    """File the hand-ins of ``lab`` found in ``source`` (a folder, searched recursively, or a .zip) for grading.

    nbgrader's ``zip_collect`` does the work with ``helpers.nbgrader_plugins.LabNotebookCollector``: the student
    id comes from each file's path (``<student_id>_<anything>.ipynb`` by default; ``regexp`` or $XAI_COLLECT_REGEXP
    with a ``(?P<student_id>...)`` group otherwise); any .ipynb becomes ``<lab>.ipynb``. A new hand-in replaces
    the student's previous one. Returns the students collected.
    """
    if lab not in labs():
        raise ValueError(f"lab should be one of {labs()}, got {lab!r}")
    source = Path(source)
    if not source.exists():
        raise ValueError(f"source should be a folder or a .zip file of handed-in notebooks; {source} does not exist")
    downloaded = grading_workspace() / "downloaded" / lab
    shutil.rmtree(downloaded, ignore_errors=True)
    archive = downloaded / "archive"
    if source.is_dir():
        shutil.copytree(source, archive)
    else:
        archive.mkdir(parents=True)
        shutil.copy2(source, archive)
    env = {"XAI_GRADING_DIR": str(grading_workspace())}
    if regexp:
        env["XAI_COLLECT_REGEXP"] = regexp
    result = nbgrader("zip_collect", lab, "--force", env=env)
    collected = sorted(set(re.findall(r"submitted[/\\](.+?)[/\\]" + re.escape(lab) + r"[/\\]", result.stderr)))
    skipped = re.findall(r"No student id found .* in '(.+?)'", result.stderr)
    invalid = re.findall(r"(Invalid student id '.+?' in '.+?')", result.stderr)
    print(f"{lab}: collected {len(collected)} submissions into {grading_workspace() / 'submitted'}"
          + (f"; skipped (no student id in the name): {', '.join(skipped)}" if skipped else "")
          + (f"; skipped: {'; '.join(invalid)}" if invalid else ""))
    return collected


def _read_handin(lab: str, student: str) -> tuple[object | None, list[str], str | None]:
    """``(notebook as data, problems, reason it cannot be graded)``: the hand-in is only parsed, never trusted."""
    path = submitted_path(lab, student)
    if not path.is_file():
        found = sorted(p.name for p in path.parent.glob("*.ipynb"))
        return None, [], f"no {lab}.ipynb in the submission (found: {', '.join(found) or 'nothing'})"
    problems = []
    size = path.stat().st_size
    if size > MAX_SUBMISSION_BYTES:
        return None, [], f"submitted file is {size / 1e6:.0f} MB, more than {MAX_SUBMISSION_BYTES / 1e6:.0f} MB"
    if size > LARGE_SUBMISSION_BYTES:
        problems.append(f"submitted file is {size / 1e6:.0f} MB (its outputs are ignored)")
    try:
        nb = json.loads(path.read_text(encoding="utf-8", errors="replace"))
        if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
            raise ValueError("no list of cells")
    except Exception as error:  # invalid JSON, wrong structure
        return None, problems, f"invalid notebook, not readable as .ipynb ({type(error).__name__}: {str(error)[:200]})"
    return nb, problems, None


def _released(lab: str):
    """The lab as nbgrader released it for this gradebook (the trusted base of every rebuilt submission)."""
    return nbformat.read(grading_workspace() / "release" / lab / f"{lab}.ipynb", as_version=4)


def _timestamp(lab: str, student: str) -> str | None:
    path = submitted_path(lab, student).parent / "timestamp.txt"
    return path.read_text().strip()[:64] if path.is_file() else None


def _save_grades(lab: str, student: str, released, answers: dict[str, str], trusted: dict) -> list[str]:
    """Write the trusted scores (and the written answers' status) to the gradebook; returns problems found."""
    problems = []
    unchanged = {cell.metadata.nbgrader["grade_id"] for cell in released.cells
                 if cell.metadata.get("nbgrader", {}).get("solution")
                 and submission.answer_unchanged(cell, answers.get(cell.metadata.nbgrader["grade_id"]))}
    timestamp = _timestamp(lab, student)
    with _gradebook() as gb, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nbgrader's add_submission triggers SQLAlchemy autoflush warnings
        gb.update_or_create_student(student)
        gb.update_or_create_submission(lab, student, **({"timestamp": timestamp} if timestamp else {}))
        notebook = gb.find_submission_notebook(lab, lab, student)
        for grade in notebook.grades:
            if grade.cell_type == "code":
                if grade.name not in trusted:
                    problems.append(f"test cell {grade.name} has no exercise in helpers.exercises (0 points)")
                grade.auto_score = float(trusted.get(grade.name, {}).get("score", 0.0))
                grade.needs_manual_grade = grade.manual_score is not None
            elif grade.name in unchanged:
                grade.auto_score, grade.needs_manual_grade = 0.0, grade.manual_score is not None
            else:
                grade.auto_score, grade.needs_manual_grade = None, True
        for comment in notebook.comments:
            comment.auto_comment = "No response." if comment.name in unchanged else None
        gb.db.commit()
    return problems


def _scores(lab: str, student: str) -> dict:
    """Scores of a submission from the gradebook: per test cell (score, max), autograded and total points."""
    with _gradebook() as gb:
        notebook = gb.find_submission_notebook(lab, lab, student)
        tests = {g.name: [g.score, g.max_score] for g in notebook.grades if g.cell_type == "code"}
        total, max_total = notebook.score, notebook.max_score
    return {"tests": tests, "score": sum(s for s, _ in tests.values()), "max_score": sum(m for _, m in tests.values()),
            "total": total, "max_total": max_total}


def record_zero(lab: str, student: str) -> None:
    """Give 0 to every cell of a submission that could not be graded (what nbgrader does for a missing notebook)."""
    with _gradebook() as gb:
        gb.update_or_create_student(student)
        gb.update_or_create_submission(lab, student)
        for grade in gb.find_submission_notebook(lab, lab, student).grades:
            grade.auto_score, grade.manual_score, grade.needs_manual_grade = 0.0, None, False
        gb.db.commit()


def grade_submission(lab: str, student: str, options: "submission.Options | None" = None) -> dict:
    """Grade one submission in the sandboxes; return what happened (never raises for a bad submission).

    Keys: student, status ("graded" or "failed"), reason (why it failed), problems, failed (test id -> message),
    tests (test id -> [score, max]), self_check (test id -> points the self-check's own cases give), trusted (test
    id -> the checker's score), score / max_score (autograded points), total / max_total (with the written
    answers), sandbox, seconds.
    """
    options = options or submission.Options()
    start = time.perf_counter()
    report = {"lab": lab, "student": student, "status": "failed", "reason": None, "problems": [], "failed": {},
              "sandbox": "bubblewrap" if options.sandbox else "none (--no-sandbox)"}
    handin, problems, fatal = _read_handin(lab, student)
    report["problems"] = problems
    workdir = grading_workspace() / "sandbox" / lab / student
    if fatal is None:
        try:
            with _gradebook() as gb:
                source_cells = [nbformat.v4.new_markdown_cell(c.source) for c in gb.find_notebook(lab, lab).source_cells]
            released = _released(lab)
            graded = submission.run_submission(lab, released, handin, source_cells, workdir, options)
            problems += graded["problems"]
            autograded = grading_workspace() / "autograded" / student / lab / f"{lab}.ipynb"
            autograded.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(submission.safe_notebook(graded["run"], graded["trusted"]), autograded)
            problems += _save_grades(lab, student, released, graded["answers"], graded["trusted"])
            report.update(_scores(lab, student), status="graded")
            report["failed"] = {t: graded["trusted"].get(t, {}).get("message", "no points")
                                for t, (s, m) in report["tests"].items() if s < m}
            report["self_check"] = {t: v["self_check_score"] for t, v in graded["trusted"].items()}
            report["trusted"] = {t: v["score"] for t, v in graded["trusted"].items()}
            report["parts"] = {t: v["parts"] for t, v in graded["trusted"].items()}
        except subprocess.TimeoutExpired:
            fatal = "the trusted checker ran past its time limit"
        finally:
            if not os.environ.get("XAI_KEEP_SANDBOX"):
                shutil.rmtree(workdir, ignore_errors=True)
    if fatal is not None:
        report["reason"] = fatal
    report["seconds"] = round(time.perf_counter() - start, 1)
    return report


def _is_up_to_date(lab: str, student: str) -> bool:
    """Already graded (report written and grades in the gradebook) since the submission was last collected."""
    from nbgrader.api import MissingEntry

    report, submission = report_path(lab, student), submitted_path(lab, student)
    if not report.is_file() or (submission.is_file() and submission.stat().st_mtime > report.stat().st_mtime):
        return False
    with _gradebook() as gb:
        try:
            gb.find_submission(lab, student)
        except MissingEntry:
            return False
    return True


def _short(message: str, width: int = 160) -> str:
    """The first failing line of a checker message, for one-line reports."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    failing = [line for line in lines if line.startswith("✘")]
    text = failing[0].lstrip("✘ ") if failing else (lines[0] if lines else "")
    return text if len(text) <= width else text[: width - 3] + "..."


def _describe(report: dict) -> str:
    unsafe = " [NOT SANDBOXED]" if report.get("sandbox", "").startswith("none") else ""
    if report["status"] == "failed":
        return f"{report['student']}: FAILED, 0 points: {report['reason']}{unsafe}"
    text = f"{report['student']}: {report['score']:g}/{report['max_score']:g}"
    if report["failed"]:
        text += "; lost " + "; ".join(f"{t}: {_short(m)}" for t, m in report["failed"].items())
    if report["problems"]:
        text += " [" + "; ".join(report["problems"]) + "]"
    return text + f" ({report['seconds']:.0f} s){unsafe}"


def grading_options(jobs: int = 1, cell_timeout: float | None = None, timeout: float = 3600, sandbox: bool = True,
                    memory_mb: int | None = None) -> submission.Options:
    """The options of a batch: time limits, the cores shared between ``jobs``, sandbox limits."""
    options = submission.Options(sandbox=sandbox)
    options.run.cell_timeout = float(cell_timeout or os.environ.get("XAI_CELL_TIMEOUT") or 300)
    options.run.notebook_timeout = float(timeout)
    options.scratch_timeout = options.check_timeout = float(timeout)
    options.case_timeout = min(options.run.cell_timeout, 120.0)
    # One thread per process: a submission runs its kernel, two from-scratch sandboxes and the checker at once, and
    # OpenMP threads that outnumber the cores wait for each other (20 times slower measured on 2 cores). The kernel,
    # the sandboxes and the checker must compute with the same number of threads anyway (the same bits: a ReLU's
    # mask may flip from one thread count to another). --jobs uses the other cores.
    options.threads = 1
    if memory_mb:
        options.limits.memory_mb = int(memory_mb)
    return options


def sandbox_or_refuse(no_sandbox: bool) -> bool:
    """True when grading will be sandboxed; ValueError saying how to install bubblewrap when it cannot be."""
    if no_sandbox:
        return False
    from helpers.grader.sandbox import INSTALL_HINT, sandbox_problem

    problem = sandbox_problem()
    if problem:
        raise ValueError(f"cannot grade safely: {problem} {INSTALL_HINT}")
    return True


def autograde(lab: str, jobs: int = 1, student_ids: list[str] | None = None, force: bool = False,
              cell_timeout: int | None = None, timeout: float = 3600, no_sandbox: bool = False,
              memory_mb: int | None = None) -> list[dict]:
    """Grade the submissions of ``lab`` (all collected students, or ``student_ids``), ``jobs`` at a time, each in
    the grading sandboxes (README, "The grading sandbox"). Students already graded are skipped unless ``force``.
    A submission that cannot be graded gets 0 and its reason; the batch always goes on. Reports go to
    grading/reports/<lab>/; returns them. ``no_sandbox`` runs student code unconfined (every line says so)."""
    if lab not in labs():
        raise ValueError(f"lab should be one of {labs()}, got {lab!r}")
    if jobs < 1:
        raise ValueError(f"jobs should be >= 1, got {jobs}")
    for student in student_ids or []:
        check_student_id(student)
    sandboxed = sandbox_or_refuse(no_sandbox)
    options = grading_options(jobs, cell_timeout, timeout, sandboxed, memory_mb)
    ensure_assignment(lab)
    todo = student_ids or students(lab)
    unknown = [s for s in todo if not (grading_workspace() / "submitted" / s / lab).is_dir()]
    if unknown:
        raise ValueError(f"no submission of {lab} for student(s) {unknown} in {grading_workspace() / 'submitted'}")
    skipped = [s for s in todo if not force and _is_up_to_date(lab, s)]
    todo = [s for s in todo if s not in skipped]
    print(f"{lab}: grading {len(todo)} submissions with {jobs} jobs"
          + (f" ({len(skipped)} already graded, skipped: --force regrades them)" if skipped else "")
          + ("" if sandboxed else " WITHOUT SANDBOX (--no-sandbox): student code runs with your rights"), flush=True)
    reports = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(grade_submission, lab, s, options): s for s in todo}
        for future in concurrent.futures.as_completed(futures):
            try:
                report = future.result()
            except Exception as error:  # a bug of ours or of nbgrader: record it, keep the batch going
                report = {"lab": lab, "student": futures[future], "status": "failed", "problems": [], "failed": {},
                          "reason": f"grading crashed: {type(error).__name__}: {error}", "seconds": 0.0}
            try:
                if report["status"] == "failed":
                    record_zero(lab, report["student"])
                    report.update(_scores(lab, report["student"]))
            except Exception as error:  # keep the batch going; the report says the grade is missing
                report["reason"] += f"; the 0 could not be recorded in the gradebook: {type(error).__name__}: {error}"
                report.update(score=0.0, max_score=0.0, total=0.0, max_total=0.0, tests={})
            path = report_path(lab, report["student"])
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(report, indent=1))
            print("  " + _describe(report), flush=True)
            reports.append(report)
    print(summary_line(lab), flush=True)
    return sorted(reports, key=lambda r: r["student"])


def feedback(lab: str, student_ids: list[str] | None = None) -> list[Path]:
    """HTML feedback (nbgrader generate_feedback) for the graded students of ``lab``; returns the files."""
    targets = student_ids or [s for s in students(lab) if report_path(lab, s).is_file()]
    env = {"XAI_GRADING_DIR": str(grading_workspace())}
    # One nbgrader run for the whole class (every autograded submission), else one per student asked for.
    for student in student_ids or ["*"]:
        nbgrader("generate_feedback", lab, "--force", "--student", student, env=env, check=False)
    paths = [grading_workspace() / "feedback" / s / lab / f"{lab}.html" for s in targets]
    missing = [p.parts[-3] for p in paths if not p.is_file()]
    print(f"{lab}: feedback for {len(paths) - len(missing)} students in {grading_workspace() / 'feedback'}"
          + (f"; none for {', '.join(missing)} (not autograded: nothing could be executed)" if missing else ""))
    return [p for p in paths if p.is_file()]


def export(to: Path | None = None) -> Path:
    """Every grade of every lab as CSV (nbgrader export): one row per student and lab."""
    to = Path(to or grading_workspace() / "grades.csv").resolve()
    nbgrader("export", f"--to={to}", env={"XAI_GRADING_DIR": str(grading_workspace())})
    print(f"grades written to {to}")
    return to


def summary_line(lab: str) -> str:
    """``lab: N submissions, mean S / M autograded points, K failures or problems: student: what happened; ...``"""
    reports = [json.loads(report_path(lab, s).read_text()) for s in students(lab) if report_path(lab, s).is_file()]
    waiting = len(students(lab)) - len(reports)
    if not reports:
        return f"{lab}: {len(students(lab))} submissions, none graded yet"
    mean = sum(r["score"] for r in reports) / len(reports)
    written = reports[0]["max_total"] - reports[0]["max_score"]
    events = [f"{r['student']}: FAILED ({r['reason']})" for r in reports if r["status"] == "failed"]
    events += [f"{r['student']}: {'; '.join(r['problems'])}" for r in reports if r["status"] == "graded" and r["problems"]]
    line = (f"{lab}: {len(reports)} submissions graded, mean {mean:.2f} / {reports[0]['max_score']:g} autograded points"
            + (f" (+{written:g} written points to grade by hand)" if written else "")
            + f", {sum(r['status'] == 'failed' for r in reports)} failures")
    if waiting:
        line += f", {waiting} not graded yet"
    unsandboxed = sum(r.get("sandbox", "").startswith("none") for r in reports)
    if unsandboxed:
        line += f", {unsandboxed} graded WITHOUT the sandbox (--no-sandbox)"
    integrity = integrity_problems(lab)
    line += (f"; integrity: {len(integrity)} problem(s): " + " | ".join(integrity)) if integrity else \
        "; integrity: gradebook and grades.csv agree with the trusted checker"
    return line + (": " + " | ".join(events) if events else "")


def integrity_problems(lab: str) -> list[str]:
    """Where the gradebook or grades.csv differ from the trusted checker's scores kept in the reports.

    Autograded cells set by hand in the formgrader are reported too (a manual score overrides the trusted one).
    """
    from nbgrader.api import MissingEntry

    problems = []
    reports = {s: json.loads(report_path(lab, s).read_text()) for s in students(lab) if report_path(lab, s).is_file()}
    totals = {}
    with _gradebook() as gb:
        for student, report in sorted(reports.items()):
            try:
                notebook = gb.find_submission_notebook(lab, lab, student)
            except MissingEntry:
                problems.append(f"{student} differs: graded, but not in the gradebook")
                continue
            totals[student] = notebook.score
            trusted = report.get("trusted", {})
            for grade in notebook.grades:
                if grade.cell_type != "code":
                    continue
                expected = trusted.get(grade.name, 0.0)
                if grade.manual_score is not None and grade.manual_score != expected:
                    problems.append(f"{student}: {grade.name} set by hand to {grade.manual_score:g} (trusted checker: "
                                    f"{expected:g})")
                elif grade.auto_score != expected:
                    problems.append(f"{student} differs: {grade.name} is {grade.auto_score} in the gradebook, "
                                    f"{expected:g} by the trusted checker")
    csv_path = grading_workspace() / "grades.csv"
    if csv_path.is_file():
        import csv

        with open(csv_path) as f:
            rows = {row["student_id"]: row for row in csv.DictReader(f) if row.get("assignment") == lab}
        for student, total in totals.items():
            if student in rows and abs(float(rows[student]["raw_score"] or 0) - total) > 1e-9:
                problems.append(f"{student} differs: grades.csv says {rows[student]['raw_score']}, the gradebook "
                                f"{total:g} (run export again)")
    return problems


def summary(lab_names: list[str] | None = None) -> list[str]:
    lines = [summary_line(lab) for lab in lab_names or labs()]
    print("\n".join(lines))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.course", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    p_release = commands.add_parser("release", help="regenerate the student notebooks from the solutions")
    p_release.add_argument("labs", nargs="*", help="labs to release (default: all)")
    p_collect = commands.add_parser("collect", help="file handed-in notebooks per student (nbgrader zip_collect)")
    p_collect.add_argument("lab")
    p_collect.add_argument("source", type=Path, help="folder (searched recursively) or .zip of handed-in .ipynb files")
    p_collect.add_argument("--regexp", help=r"regexp finding the student id in each file's path, with a "
                           r"(?P<student_id>...) group; default: (?P<student_id>[A-Za-z0-9.@-]+)_ (<id>_<anything>.ipynb)")
    p_grade = commands.add_parser("autograde", help="grade every collected submission of a lab (resumes)")
    p_grade.add_argument("lab")
    p_grade.add_argument("--jobs", type=int, default=1, help="submissions graded at a time (e.g. the number of cores)")
    p_grade.add_argument("--student", action="append", help="grade only this student (repeatable)")
    p_grade.add_argument("--force", action="store_true", help="regrade students already graded")
    p_grade.add_argument("--cell-timeout", type=int, help="seconds per cell (default $XAI_CELL_TIMEOUT or 300)")
    p_grade.add_argument("--timeout", type=float, default=3600, help="seconds per submission (default 3600)")
    p_grade.add_argument("--memory-mb", type=int, help="memory of each sandbox in MB (default 4096)")
    p_grade.add_argument("--no-sandbox", action="store_true",
                         help="grade without the bubblewrap sandbox (student code runs with your rights; "
                              "only where bubblewrap cannot run)")
    p_feedback = commands.add_parser("feedback", help="HTML feedback per student (nbgrader generate_feedback)")
    p_feedback.add_argument("lab")
    p_feedback.add_argument("--student", action="append", help="only this student (repeatable)")
    p_export = commands.add_parser("export", help="all grades to a CSV file (nbgrader export)")
    p_export.add_argument("--to", type=Path, help="CSV file (default grading/grades.csv)")
    p_summary = commands.add_parser("summary", help="one line per lab: submissions, mean score, failures")
    p_summary.add_argument("labs", nargs="*", help="labs (default: all)")
    p_run = commands.add_parser("run-solutions", help="execute every solution notebook headless")
    p_run.add_argument("--output", type=Path, default=REPO / "runs", help="folder for the executed notebooks")
    args = parser.parse_args(argv)
    try:
        if args.command == "release":
            release(args.labs or None)
        elif args.command == "collect":
            collect(args.lab, args.source, args.regexp)
        elif args.command == "autograde":
            autograde(args.lab, args.jobs, args.student, args.force, args.cell_timeout, args.timeout,
                      args.no_sandbox, args.memory_mb)
        elif args.command == "feedback":
            feedback(args.lab, args.student)
        elif args.command == "export":
            export(args.to)
        elif args.command == "summary":
            summary(args.labs or None)
        elif args.command == "run-solutions":
            run_solutions(args.output)
    except ValueError as error:
        parser.error(str(error))
    return 0


if __name__ == "__main__":
    sys.exit(main())
