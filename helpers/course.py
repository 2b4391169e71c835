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
import tempfile
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
LOCKED_RETRIES = 3


def submitted_path(lab: str, student: str) -> Path:
    return grading_workspace() / "submitted" / student / lab / f"{lab}.ipynb"


def report_path(lab: str, student: str) -> Path:
    """What happened when a submission was graded (JSON): grading/reports/<lab>/<student>.json."""
    return grading_workspace() / "reports" / lab / f"{student}.json"


def students(lab: str) -> list[str]:
    """Students with a submission folder for ``lab`` in grading/submitted/."""
    root = grading_workspace() / "submitted"
    return sorted(p.name for p in root.iterdir() if (p / lab).is_dir()) if root.is_dir() else []


def _with_venv_scripts_on_path() -> str:
    """PATH with this environment's scripts first: nbgrader runs `alembic` from PATH (also when not activated)."""
    scripts, path = str(Path(sys.executable).parent), os.environ.get("PATH", "")
    return path if path.split(os.pathsep)[0] == scripts else os.pathsep.join([scripts, path])


def _gradebook():
    from nbgrader.api import Gradebook

    os.environ["PATH"] = _with_venv_scripts_on_path()  # a new gradebook.db is created with `alembic`

    return Gradebook(f"sqlite:///{grading_workspace() / 'gradebook.db'}", course_id="xai-image-classifiers")


def ensure_assignment(lab: str) -> None:
    """Make sure the gradebook knows the lab (its test cells and their checksums); generate it if not.

    The student notebooks are written to a temporary folder: ``notebooks/`` is left as released.
    """
    from nbgrader.api import MissingEntry

    grading_workspace().mkdir(parents=True, exist_ok=True)
    with _gradebook() as gb:
        try:
            if gb.find_assignment(lab).notebooks:
                return
        except MissingEntry:
            pass
    with tempfile.TemporaryDirectory() as release_dir:
        nbgrader("generate_assignment", lab, "--force", env={"XAI_RELEASE_DIR": release_dir,
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
    print(f"{lab}: collected {len(collected)} submissions into {grading_workspace() / 'submitted'}"
          + (f"; skipped (no student id in the name): {', '.join(skipped)}" if skipped else ""))
    return collected


def _precheck(lab: str, student: str) -> tuple[list[str], str | None]:
    """Problems visible in the submitted file before grading, and the reason it cannot be graded at all (or None)."""
    path = submitted_path(lab, student)
    if not path.is_file():
        found = sorted(p.name for p in path.parent.glob("*.ipynb"))
        return [], f"no {lab}.ipynb in the submission (found: {', '.join(found) or 'nothing'})"
    problems = []
    size = path.stat().st_size
    if size > LARGE_SUBMISSION_BYTES:
        problems.append(f"submitted file is {size / 1e6:.0f} MB (outputs cleared before grading)")
    try:
        nb = nbformat.reads(path.read_text(encoding="utf-8", errors="replace"), as_version=4)
    except Exception as error:  # nbformat raises several types for a broken file
        return problems, f"invalid notebook, not readable as .ipynb ({type(error).__name__}: {str(error)[:200]})"
    ids = [cell.metadata.get("nbgrader", {}).get("grade_id") for cell in nb.cells]
    with _gradebook() as gb:
        expected = gb.find_notebook(lab, lab)
        solution_ids = [cell.name for cell in expected.solution_cells]
        # what the students got: the gradebook's locked cells without their hidden tests
        released = {cell.name: _HIDDEN_TESTS.sub("", cell.source).strip() for cell in expected.source_cells
                    if cell.locked}
    for grade_id in sorted({i for i in ids if i and ids.count(i) > 1}):
        problems.append(f"cell {grade_id} duplicated (the copy runs as ordinary code)")
    for grade_id in solution_ids:
        if grade_id not in ids:
            problems.append(f"answer cell {grade_id} missing (deleted, or retyped without its metadata)")
    for index, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade_id") in released and cell.source.strip() != released[meta["grade_id"]]:
            problems.append(f"locked cell {meta['grade_id']} edited (original restored)")
        match = _TAMPERING.search(cell.source) if cell.cell_type == "code" and not meta.get("locked") else None
        if match:
            problems.append(f"tampering suspected in {meta.get('grade_id') or f'cell {index}'}: "
                            f"{match.group(0).strip()[:60]!r} (check by hand)")
    return problems, None


# Student code that rebinds the graders' functions or library functions (assert_untampered catches the latter at
# run time; rebinding a name in the notebook, e.g. `check_attribution = lambda *a, **k: None`, only shows here).
_TAMPERING = re.compile(r"^\s*(?:def\s+(?:check_\w+|assert_untampered|from_scratch)\b|(?:check_\w+|assert_untampered|"
                        r"from_scratch)\s*=[^=]|(?:torch|np|numpy|captum|helpers)(?:\.\w+)+\s*=[^=])", re.M)

_HIDDEN_TESTS = re.compile(r"[ \t]*### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS[ \t]*\n?", re.S)

_LOG_PROBLEMS = [
    (re.compile(r"Missing grade cell (\S+) encountered"), "test cell {} deleted (restored from the gradebook)"),
    (re.compile(r"Attribute 'points' for cell (\S+) has changed"), "points of cell {} edited (original restored)"),
]

_ERROR_KINDS = [
    ("Your notebook replaced library functions", "tampering detected"),
    ("Your notebook redefined", "tampering detected"),
    ("asks you to implement the method yourself", "called Captum or helpers.reference in a from-scratch exercise"),
]


def _first_line(text: str, width: int = 300) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", text).strip()
    return text.splitlines()[0][:width] if text else ""


def _execution_problems(nb) -> tuple[list[str], dict[str, str]]:
    """Problems seen in the executed (autograded) notebook, and the error message of each failed test cell."""
    problems, messages = [], {}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("nbgrader", {})
        label = meta.get("grade_id") or f"cell {index}"
        for output in cell.get("outputs", []):
            text = "".join(output.get("text", "")) if output.output_type == "stream" else ""
            if "Output truncated" in text:
                problems.append(f"output of {label} truncated")
            if output.output_type != "error":
                continue
            message = f"{output.ename}: {_first_line(output.evalue, width=1000)}"
            if output.ename in ("CellTimeoutError", "KeyboardInterrupt") or "timeout" in output.ename.lower():
                problems.append(f"timeout in {label} (interrupted after the cell time limit: infinite loop?)")
            elif output.ename == "NotImplementedError" and not meta.get("grade"):
                problems.append(f"{label} not answered")
            elif output.ename in ("SyntaxError", "IndentationError"):
                problems.append(f"syntax error in {label}")
            elif not meta.get("grade"):
                problems.append(f"exception in {label}: {message[:150]}")
            for marker, kind in _ERROR_KINDS:
                if marker in output.evalue:
                    problems.append(f"{kind} in {label}")
            if meta.get("grade"):
                messages.setdefault(meta["grade_id"], message)
    return list(dict.fromkeys(problems)), messages


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


def grade_submission(lab: str, student: str, cell_timeout: int | None = None, timeout: float = 3600,
                     threads: int | None = None) -> dict:
    """Autograde one submission with nbgrader; return what happened (never raises for a bad submission).

    Keys: student, status ("graded" or "failed"), reason (why it failed), problems, failed (test id -> message),
    tests (test id -> [score, max]), score / max_score (autograded points), seconds.
    """
    start = time.perf_counter()
    report = {"lab": lab, "student": student, "status": "failed", "reason": None, "problems": [], "failed": {}}
    problems, fatal = _precheck(lab, student)
    report["problems"] = problems
    if fatal is None:
        env = {"XAI_GRADING_DIR": str(grading_workspace())}
        if cell_timeout:
            env["XAI_CELL_TIMEOUT"] = str(cell_timeout)
        if threads:
            env["OMP_NUM_THREADS"] = str(threads)
        try:
            for attempt in range(LOCKED_RETRIES):
                result = nbgrader("autograde", lab, "--student", student, "--force", env=env, timeout=timeout,
                                  check=False)
                log = result.stdout + result.stderr
                if result.returncode == 0 or "database is locked" not in log:
                    break
                time.sleep(1 + attempt)
            if result.returncode != 0:
                errors = [line for line in log.splitlines() if "Error" in line or "ERROR" in line]
                fatal = "nbgrader could not grade it: " + _first_line(errors[0] if errors else log[-300:])
        except subprocess.TimeoutExpired:
            fatal = f"grading took longer than {timeout:.0f} s (stopped)"
    if fatal is None:
        for pattern, text in _LOG_PROBLEMS:
            problems += [text.format(cell) for cell in dict.fromkeys(pattern.findall(log))]
        graded = nbformat.read(grading_workspace() / "autograded" / student / lab / f"{lab}.ipynb", as_version=4)
        more, messages = _execution_problems(graded)
        problems += more
        report.update(_scores(lab, student), status="graded")
        report["failed"] = {t: messages.get(t, "no points") for t, (s, m) in report["tests"].items() if s < m}
    else:
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


def _describe(report: dict) -> str:
    if report["status"] == "failed":
        return f"{report['student']}: FAILED, 0 points: {report['reason']}"
    text = f"{report['student']}: {report['score']:g}/{report['max_score']:g}"
    if report["failed"]:
        text += "; lost " + "; ".join(f"{t}: {m[:160]}" for t, m in report["failed"].items())
    if report["problems"]:
        text += " [" + "; ".join(report["problems"]) + "]"
    return text + f" ({report['seconds']:.0f} s)"


def autograde(lab: str, jobs: int = 1, student_ids: list[str] | None = None, force: bool = False,
              cell_timeout: int | None = None, timeout: float = 3600) -> list[dict]:
    """Grade the submissions of ``lab`` (all collected students, or ``student_ids``) with ``jobs`` nbgrader
    processes at a time. Students already graded are skipped unless ``force``. A submission that cannot be graded
    gets 0 and its reason; the batch always goes on. Reports go to grading/reports/<lab>/; returns them."""
    if lab not in labs():
        raise ValueError(f"lab should be one of {labs()}, got {lab!r}")
    if jobs < 1:
        raise ValueError(f"jobs should be >= 1, got {jobs}")
    ensure_assignment(lab)
    todo = student_ids or students(lab)
    unknown = [s for s in todo if not (grading_workspace() / "submitted" / s / lab).is_dir()]
    if unknown:
        raise ValueError(f"no submission of {lab} for student(s) {unknown} in {grading_workspace() / 'submitted'}")
    skipped = [s for s in todo if not force and _is_up_to_date(lab, s)]
    todo = [s for s in todo if s not in skipped]
    print(f"{lab}: grading {len(todo)} submissions with {jobs} jobs"
          + (f" ({len(skipped)} already graded, skipped: --force regrades them)" if skipped else ""), flush=True)
    # Share the cores between the jobs, so that parallel kernels do not fight over them ($OMP_NUM_THREADS wins).
    threads = int(os.environ.get("OMP_NUM_THREADS") or max(1, (os.cpu_count() or 1) // jobs))
    reports = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(grade_submission, lab, s, cell_timeout, timeout, threads): s for s in todo}
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
    return line + (": " + " | ".join(events) if events else "")


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
            autograde(args.lab, args.jobs, args.student, args.force, args.cell_timeout, args.timeout)
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
