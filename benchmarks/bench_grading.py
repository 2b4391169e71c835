"""Grading cost: per lab, executing the solution notebook vs autograding one correct submission; class timings.

    .venv/bin/python benchmarks/bench_grading.py [--labs 01_toy_model 02_saliency] [--submissions 20]
                                                 [--class-lab 01_toy_model] [--no-class]

Per lab: ``execute`` = the solution notebook run with nbclient and full demos (what a student waits for);
``grade`` = ``helpers.course.grade_submission`` on the solution handed in as a submission (nbgrader autograde:
sanitize, execute with light demos, save grades), ratio = grade / execute (goal <= 1.2).
Class: N copies of the correct submission of one lab graded with ``autograde --jobs 1`` then ``--jobs 2``
(goal: jobs 2 <= 0.6 x jobs 1 on 2 cores). Everything runs in a temporary grading workspace.
"""
from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from helpers import course


def execute_seconds(lab: str) -> float:
    nb = nbformat.read(course.solution_path(lab), as_version=4)
    env_backup = {k: os.environ.pop(k) for k in ("NBGRADER_EXECUTION",) if k in os.environ}
    start = time.perf_counter()
    try:
        NotebookClient(nb, timeout=1200, kernel_name="python3",
                       resources={"metadata": {"path": str(course.solution_path(lab).parent)}}).execute()
    finally:
        os.environ.update(env_backup)
    return time.perf_counter() - start


def hand_in(lab: str, student: str) -> None:
    path = course.submitted_path(lab, student)
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(course.solution_path(lab), path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--labs", nargs="*", default=None, help="labs to time (default: all)")
    parser.add_argument("--submissions", type=int, default=20, help="class size for the --jobs timings")
    parser.add_argument("--class-lab", default=None, help="lab graded for the class timings (default: the first)")
    parser.add_argument("--no-class", action="store_true", help="skip the class timings")
    args = parser.parse_args()
    labs = args.labs or course.labs()
    os.environ.setdefault("MPLBACKEND", "Agg")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["XAI_GRADING_DIR"] = str(Path(tmp) / "grading")
        rows = []
        for lab in labs:
            execute = execute_seconds(lab)
            course.ensure_assignment(lab)
            hand_in(lab, "bench")
            report = course.grade_submission(lab, "bench")
            assert report["status"] == "graded" and report["score"] == report["max_score"], report
            rows.append((lab, execute, report["seconds"]))
            print(f"  {lab}: execute {execute:.1f} s, grade {report['seconds']:.1f} s", flush=True)
        print(f"\n{'lab':<24}{'execute (s)':>12}{'grade (s)':>12}{'ratio':>8}")
        for lab, execute, grade in rows:
            print(f"{lab:<24}{execute:>12.1f}{grade:>12.1f}{grade / execute:>8.2f}")
        if args.no_class:
            return
        lab = args.class_lab or labs[0]
        students = [f"student{i:02d}" for i in range(args.submissions)]
        for student in students:
            hand_in(lab, student)
        timings = {}
        for jobs in (1, 2):
            start = time.perf_counter()
            reports = course.autograde(lab, jobs=jobs, student_ids=students, force=True)
            timings[jobs] = time.perf_counter() - start
            assert all(r["status"] == "graded" and r["score"] == r["max_score"] for r in reports)
        print(f"\nclass of {args.submissions} submissions of {lab} on {os.cpu_count()} cores: --jobs 1 "
              f"{timings[1]:.1f} s, --jobs 2 {timings[2]:.1f} s, ratio {timings[2] / timings[1]:.2f} (goal <= 0.6)")


if __name__ == "__main__":
    main()
