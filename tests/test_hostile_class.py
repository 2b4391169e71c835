"""A hostile class graded through the CLI (issue 9): one student per attack (tests/hostile_answers.py), honest
students and an untouched notebook, graded two at a time, attackers and honest students side by side.

Every attacker starts from the blank notebook and must get 0; honest students get full marks; the repository, the
environment, the instructor's home and the gradebook are unchanged except for the grades; no secret and no script
reaches a feedback page; no process outlives the batch.
"""
import copy
import csv
import hashlib
import html
from html.parser import HTMLParser
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import course
from hostile_answers import (ATTACKS, CANARY_CLASSMATE, CANARY_ENV, CANARY_ENV_VALUE, CANARY_SSH,
                             added_cells, script_everywhere, tag_test_cells)
from simulated_class import filled, grade_id, graded_points, read, release_lab, report, write

LAB = "01_toy_model"
HONEST = ("h01", "h02", "h03")
HIDDEN_VARIANTS = ("4021", "7717")  # lab 01's secret hidden variants (solutions/01_toy_model, hidden tests)


def snapshot(*roots: Path) -> dict[str, str]:
    """Path -> sha256 of every file under ``roots`` (caches excluded)."""
    digests = {}
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digests[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def _uid_and_parent(pid: str) -> tuple[int, int, str]:
    status = Path(f"/proc/{pid}/status").read_text()
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    uid = int(re.search(r"^Uid:\s+(\d+)", status, re.M).group(1))
    return uid, int(re.search(r"^PPid:\s+(\d+)", status, re.M).group(1)), cmdline


def sandbox_processes(workspace: Path) -> list[str]:
    """Processes left by this batch: bwrap processes of its sandboxes (their command line names its workspace), and
    processes of a sandbox user that left their sandbox (whose parent is neither bwrap nor a sandboxed process)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            uid, parent, cmdline = _uid_and_parent(entry.name)
            if cmdline.startswith("bwrap") and str(workspace) in cmdline:
                found.append(f"{entry.name}: {cmdline[:100]}")
            elif 61000 <= uid < 62000:
                parent_uid, _, parent_cmd = _uid_and_parent(str(parent)) if parent else (0, 0, "")
                if not (61000 <= parent_uid < 62000 or parent_cmd.startswith("bwrap")):
                    found.append(f"{entry.name} uid {uid}, parent {parent}: {cmdline[:100]}")
        except (OSError, AttributeError):
            continue
    return found


class _ActiveHtml(HTMLParser):
    """Collects what a browser would run: event handlers, javascript: links, frames, and scripts other than the
    page template's own (MathJax)."""

    def __init__(self):
        super().__init__()
        self.found, self._in_script = [], False

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name.lower().startswith("on"):
                self.found.append(f"<{tag} {name}=...>")
            if name.lower() in ("href", "src", "action", "formaction", "data") and value and \
                    re.sub(r"\s", "", value).lower().startswith(("javascript:", "vbscript:", "data:text/html")):
                self.found.append(f"<{tag} {name}={value[:40]}>")
        if tag.lower() in ("iframe", "object", "embed", "frame", "svg"):
            self.found.append(f"<{tag}>")
        self._in_script = tag.lower() == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script and ("alert(" in data or "xss" in data):
            self.found.append(f"<script>{data[:40]}")


def active_html(page: str) -> list[str]:
    parser = _ActiveHtml()
    parser.feed(page)
    return parser.found


def cli(env, *args, check=True):
    result = subprocess.run([sys.executable, "-m", "helpers.course", *args], cwd=course.REPO, capture_output=True,
                            text=True, env=env, timeout=2400)
    assert not check or result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


def hostile_notebook(student_nb, student, attack):
    nb = read(student_nb)
    if attack == "tags":
        tag_test_cells(nb)
    elif attack == "script":
        script_everywhere(nb, next(c for c in nb.cells if grade_id(c) == "ex1_captum_target1"))
    elif attack == "added":
        added_cells(nb)
    else:
        for cell in nb.cells:
            if grade_id(cell) in attack:
                cell.source = attack[grade_id(cell)]
    return nb


@pytest.fixture(scope="module")
def hostile_class(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    home = tmp / "instructor_home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text(CANARY_SSH)
    env = {**os.environ, "XAI_GRADING_DIR": str(tmp / "grading"), "HOME": str(home), CANARY_ENV: CANARY_ENV_VALUE}
    previous = os.environ.get("XAI_GRADING_DIR")
    os.environ["XAI_GRADING_DIR"] = env["XAI_GRADING_DIR"]
    try:
        student_nb = release_lab(LAB, tmp)
        hand_in = tmp / "hand_in"
        for student, (_, attack) in ATTACKS.items():
            write(hand_in, f"{student}_lab01.ipynb", hostile_notebook(student_nb, student, attack))
        honest = filled(LAB, student_nb)
        for student in HONEST:
            nb = copy.deepcopy(honest)
            next(c for c in nb.cells if grade_id(c) == "ex3_completeness").source += f"\n# {CANARY_CLASSMATE}\n"
            write(hand_in, f"{student}_lab01.ipynb", nb)
        write(hand_in, "u01_lab01.ipynb", read(student_nb))
        write(hand_in, ".._x.ipynb", honest)                    # a file name that climbs out of submitted/
        watched = (course.REPO / "helpers", course.REPO / "solutions", course.REPO / "notebooks", home)
        site_packages = Path(sys.prefix) / "lib"
        before = snapshot(*watched)
        before_site = sorted(p.name for p in site_packages.rglob("*.pth"))
        out = {"collect": cli(env, "collect", LAB, str(hand_in))}
        # 2 GB of memory per sandbox keeps the memory attack bounded on a shared machine; 60 s per cell.
        out["autograde"] = cli(env, "autograde", LAB, "--jobs", "2", "--cell-timeout", "60", "--memory-mb", "2048")
        out["feedback"] = cli(env, "feedback", LAB)
        out["export"] = cli(env, "export")
        out["summary"] = cli(env, "summary", LAB)
        after = snapshot(*watched)
        after_site = sorted(p.name for p in site_packages.rglob("*.pth"))
        yield {"out": out, "changed": sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k)),
               "site": (before_site, after_site), "leftover": sandbox_processes(tmp), "tmp": tmp}
    finally:
        if previous is None:
            os.environ.pop("XAI_GRADING_DIR", None)
        else:
            os.environ["XAI_GRADING_DIR"] = previous


def test_every_attacker_gets_zero_and_every_honest_student_full_marks(hostile_class):
    total = sum(graded_points(LAB).values())
    for student, (what, _) in ATTACKS.items():
        result = report(LAB, student)
        assert result["score"] == 0, (student, what, result)
    for student in HONEST:
        result = report(LAB, student)
        assert result["status"] == "graded" and result["score"] == total, (student, result)
    assert report(LAB, "u01")["score"] == 0


def test_the_gradebook_and_the_export_hold_the_trusted_scores(hostile_class):
    with open(course.grading_workspace() / "grades.csv") as f:
        rows = {row["student_id"]: float(row["raw_score"]) for row in csv.DictReader(f) if row["assignment"] == LAB}
    assert sorted(rows) == sorted([*ATTACKS, *HONEST, "u01"]), sorted(rows)
    for student, score in rows.items():
        assert score == report(LAB, student)["total"], (student, score)
    assert "differ" not in hostile_class["out"]["summary"], hostile_class["out"]["summary"]


def test_file_names_cannot_leave_the_submission_folder(hostile_class):
    grading = course.grading_workspace()
    assert not (grading / LAB).exists(), "a hand-in named .._x.ipynb was filed outside submitted/"
    submitted = grading / "submitted"
    assert sorted(p.name for p in submitted.iterdir()) == sorted([*ATTACKS, *HONEST, "u01"])
    assert "Invalid student id '..'" in hostile_class["out"]["collect"], hostile_class["out"]["collect"]


def test_nothing_outside_the_grades_changed(hostile_class):
    assert hostile_class["changed"] == [], hostile_class["changed"][:20]
    before, after = hostile_class["site"]
    assert before == after
    assert "PWNED" not in os.environ


def test_no_secret_and_no_script_in_any_feedback_page(hostile_class):
    pages = list((course.grading_workspace() / "feedback").rglob("*.html"))
    assert len(pages) >= len(ATTACKS) - 3, pages  # attackers that kill their kernel still get a page
    for page in pages:
        raw = page.read_text()
        text = html.unescape(re.sub(r"<[^>]+>", " ", raw))
        for secret in (CANARY_ENV_VALUE, CANARY_SSH, "BEGIN HIDDEN TESTS", *(f"variant={v}" for v in HIDDEN_VARIANTS)):
            assert secret not in raw and secret not in text, (page, secret)
        if CANARY_CLASSMATE in text:  # an honest student's own answer holds it: only their own page may
            assert page.parts[-3] in HONEST, page
        assert active_html(raw) == [], (page, active_html(raw)[:5])


def test_the_leaking_function_shows_no_hidden_case(hostile_class):
    message = " ".join(report(LAB, "a15")["failed"].values())
    for variant in HIDDEN_VARIANTS:
        assert variant not in message, message


def test_every_line_names_what_happened(hostile_class):
    problems = {student: " ".join(report(LAB, student)["problems"]) for student in ATTACKS}
    assert "the kernel died" in problems["a24"] and "the kernel died" in problems["a11"]
    assert "memory" in problems["a20"] or "the kernel died" in problems["a20"], problems["a20"]
    assert "output limit" in problems["a22"], problems["a22"]
    assert "time limit" in problems["a23"], problems["a23"]
    assert "added by the student" in problems["a25"], problems["a25"]


def test_no_process_outlives_the_batch(hostile_class):
    assert hostile_class["leftover"] == []


def test_grading_refuses_without_a_sandbox_unless_asked(tmp_path):
    """No bubblewrap on PATH: autograde says how to install it; --no-sandbox grades and says so on every line."""
    env = {**os.environ, "XAI_GRADING_DIR": str(tmp_path / "grading"), "PATH": str(Path(sys.executable).parent)}
    result = subprocess.run([sys.executable, "-m", "helpers.course", "autograde", LAB], cwd=course.REPO, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 2 and "apt-get install bubblewrap" in result.stderr and "--no-sandbox" in result.stderr


def test_no_sandbox_is_said_on_every_line_and_in_the_summary(tmp_path):
    env = {**os.environ, "XAI_GRADING_DIR": str(tmp_path / "grading")}
    previous = os.environ.get("XAI_GRADING_DIR")
    os.environ["XAI_GRADING_DIR"] = env["XAI_GRADING_DIR"]
    try:
        student_nb = release_lab(LAB, tmp_path)
        write(tmp_path / "hand_in", "h09_lab01.ipynb", filled(LAB, student_nb))
        cli(env, "collect", LAB, str(tmp_path / "hand_in"))
        out = cli(env, "autograde", LAB, "--no-sandbox")
        summary = cli(env, "summary", LAB)
    finally:
        if previous is None:
            os.environ.pop("XAI_GRADING_DIR", None)
        else:
            os.environ["XAI_GRADING_DIR"] = previous
    assert "WITHOUT SANDBOX" in out and "h09: 8/8" in out and "[NOT SANDBOXED]" in out, out
    assert "1 graded WITHOUT the sandbox (--no-sandbox)" in summary, summary


def test_the_active_html_detector_sees_what_a_browser_would_run():
    page = ("<p>text &lt;script&gt;</p><img src=x onerror=alert(1)><a href=' javascript:alert(1)'>x</a>"
            "<script>alert('xss')</script><svg></svg><iframe src=x></iframe>")
    assert len(active_html(page)) == 5
    assert active_html("<p>&lt;img src=x onerror=alert(1)&gt;</p><script>MathJax.Hub.Config({})</script>") == []
