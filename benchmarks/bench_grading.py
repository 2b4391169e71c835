"""Grading cost: per lab, plain execution of a correct submission vs sandboxed, trusted grading of it; a class.

    .venv/bin/python benchmarks/bench_grading.py [--labs 01_toy_model 02_saliency] [--class-size 6]
                                                 [--class-lab 01_toy_model] [--no-class] [--repeat 1]

Per lab, on the same correct submission (the student notebook with the solution's answers), in the same run:
``plain`` = the notebook executed by nbclient with no sandbox, as nbgrader would (light demos, the self-checks
checking in the kernel); ``graded`` = ``helpers.course.grade_submission``: rebuild, the kernel sandbox and the two
from-scratch sandboxes, the trusted checker, gradebook and feedback notebook written. ratio = graded / plain
(goal <= 1.15). Class: N copies of the correct submission of one lab graded with ``autograde --jobs 1`` then
``--jobs 2`` (goal: jobs 2 <= 0.6 x jobs 1 on 2 cores). Everything runs in a temporary grading workspace, offline.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from helpers import course

sys.path.insert(0, str(course.REPO / "tests"))
from simulated_class import filled, release_lab, write  # noqa: E402


def plain_seconds(nb) -> float:
    """nbclient on the submission, outside any sandbox, with the settings of grading (light demos)."""
    nb = nbformat.from_dict(nbformat.reads(nbformat.writes(nb), as_version=4))
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        NotebookClient(nb, timeout=1200, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": folder}}).execute()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--labs", nargs="*", default=None, help="labs to time (default: all)")
    parser.add_argument("--class-size", type=int, default=6, help="submissions in the --jobs timings")
    parser.add_argument("--class-lab", default=None, help="lab graded for the class timings (default: the first)")
    parser.add_argument("--no-class", action="store_true", help="skip the class timings")
    parser.add_argument("--repeat", type=int, default=1, help="repetitions per lab (the minimum is kept)")
    args = parser.parse_args()
    labs = args.labs or course.labs()
    os.environ.update(XAI_OFFLINE="1", MPLBACKEND="Agg", NBGRADER_EXECUTION="autograde")
    options = course.grading_options(jobs=1)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["XAI_GRADING_DIR"] = str(Path(tmp) / "grading")
        rows = []
        for lab in labs:
            nb = filled(lab, release_lab(lab, Path(tmp) / lab))
            course.ensure_assignment(lab)
            write(course.grading_workspace() / "submitted" / "bench" / lab, f"{lab}.ipynb", nb)
            plain, graded = [], []
            for _ in range(args.repeat):
                plain.append(plain_seconds(nb))
                start = time.perf_counter()
                report = course.grade_submission(lab, "bench", options)
                graded.append(time.perf_counter() - start)
                assert report["status"] == "graded" and report["score"] == report["max_score"], report
            rows.append((lab, min(plain), min(graded)))
            print(f"  {lab}: plain {min(plain):.1f} s, graded {min(graded):.1f} s", flush=True)
        print(f"\n{'lab':<26}{'plain (s)':>10}{'graded (s)':>12}{'ratio':>8}")
        for lab, plain, graded in rows:
            print(f"{lab:<26}{plain:>10.1f}{graded:>12.1f}{graded / plain:>8.2f}")
        total_plain, total_graded = sum(r[1] for r in rows), sum(r[2] for r in rows)
        print(f"{'all labs':<26}{total_plain:>10.1f}{total_graded:>12.1f}{total_graded / total_plain:>8.2f}")
        if args.no_class:
            return
        lab = args.class_lab or labs[0]
        nb = filled(lab, release_lab(lab, Path(tmp) / f"class-{lab}"))
        students = [f"student{i:02d}" for i in range(args.class_size)]
        for student in students:
            write(course.grading_workspace() / "submitted" / student / lab, f"{lab}.ipynb", nb)
        timings = {}
        for jobs in (1, 2):
            start = time.perf_counter()
            reports = course.autograde(lab, jobs=jobs, student_ids=students, force=True)
            timings[jobs] = time.perf_counter() - start
            assert all(r["status"] == "graded" and r["score"] == r["max_score"] for r in reports)
        print(f"\nclass of {args.class_size} submissions of {lab} on {os.cpu_count()} cores: --jobs 1 "
              f"{timings[1]:.1f} s, --jobs 2 {timings[2]:.1f} s, ratio {timings[2] / timings[1]:.2f} (goal <= 0.6)")


if __name__ == "__main__":
    main()
