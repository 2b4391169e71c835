"""One submission, from the hand-in to the gradebook, trusting nothing of the hand-in but its answer cells' sources.

1. :func:`rebuild`: the notebook that runs is the lab as released (every cell and its metadata from the release
   nbgrader generated for the gradebook) with the student's answer cells put in, matched by nbgrader id, else by
   cell id, else by position between the released cells; cells the student added run at their place as ordinary
   code. Everything else of the hand-in (edits of other cells, tags such as ``skip-execution``, nbgrader flags,
   notebook metadata, outputs) is dropped.
2. Three sandboxes run at the same time: the notebook with a kernel (its self-check cells record the values of the
   apply-Captum exercises); the from-scratch functions on the self-check's cases; the same functions on the hidden
   cases (the secret ``variant`` numbers of the hidden tests, read from the gradebook). The last two have no Captum,
   no ``helpers.reference`` and no ``helpers.evaluation`` in their view.
3. :mod:`helpers.grader.trusted` checks the recorded data in a fresh process; its scores go to the gradebook, its
   messages become the outputs of the test cells of the autograded notebook (the feedback), whose other outputs
   and the student's written answers are made safe to open (:func:`safe_notebook`).
"""
from __future__ import annotations

import base64
import binascii
import copy
import html
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader import utils as nbgrader_utils

from helpers.grader.kernel import RunLimits, execute_notebook
from helpers.grader.sandbox import Limits, NoSandbox, Sandbox
from helpers.nbgrader_plugins import STUDENT_ID

__all__ = ["Options", "rebuild", "hidden_variants", "safe_notebook", "run_submission", "STUDENT_ID"]

HIDDEN_REGION = re.compile(r"### BEGIN HIDDEN TESTS(.*?)### END HIDDEN TESTS", re.S)
HIDDEN_CALL = re.compile(r"self_check\(\s*[\"'](\w+)[\"']\s*,\s*variant\s*=\s*(\d+)\s*\)")
SAFE_MIME = ("text/plain", "image/png", "image/jpeg")
MAX_IMAGE_CHARS = 4_000_000


@dataclass
class Options:
    """How one submission is graded (the CLI fills it from its flags)."""

    sandbox: bool = True
    limits: Limits = field(default_factory=Limits)
    run: RunLimits = field(default_factory=RunLimits)
    threads: int = 1
    scratch_timeout: float = 600      #: seconds for each from-scratch sandbox
    case_timeout: float = 60          #: seconds for one call of a from-scratch function
    check_timeout: float = 900        #: seconds for the trusted checker


def _grade_id(cell) -> str | None:
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    return grade_id if isinstance(grade_id, str) else None


def _is_answer(cell) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return bool(meta.get("solution")) and not meta.get("grade") or (bool(meta.get("solution")) and cell.cell_type == "markdown")


# ----------------------------------------------------------------------------------------------------------------
# 1. The notebook that runs


def rebuild(released, handin) -> tuple[nbformat.NotebookNode, dict[str, str], list[str]]:
    """``(notebook to run, {answer grade_id: source}, notes)`` from the released notebook and the hand-in."""
    notes: list[str] = []
    cells = [c for c in handin.get("cells", []) if isinstance(c, dict) and c.get("cell_type") in ("code", "markdown")]
    sources = [_source(c) for c in cells]
    by_grade_id: dict[str, int] = {}
    for index, cell in enumerate(cells):
        grade_id = _grade_id(cell)
        if grade_id is not None:
            if grade_id in by_grade_id:
                notes.append(f"cell {grade_id} duplicated (the first copy counts)")
            else:
                by_grade_id[grade_id] = index
    by_cell_id = {}
    for index, cell in enumerate(cells):
        cell_id = cell.get("id")
        if isinstance(cell_id, str):
            by_cell_id.setdefault(cell_id, index)
    used: set[int] = set()
    released_cells = released.cells
    # each released cell's match in the hand-in (index), answers and locked cells alike
    matched: dict[int, int] = {}
    for position, cell in enumerate(released_cells):
        grade_id = _grade_id(cell)
        index = by_grade_id.get(grade_id) if grade_id else None
        if index is None and cell.get("id") in by_cell_id and by_cell_id[cell["id"]] not in matched.values():
            candidate = by_cell_id[cell["id"]]
            if cells[candidate]["cell_type"] == cell.cell_type and _grade_id(cells[candidate]) in (None, grade_id):
                index = candidate
        if index is None and not _is_answer(cell):
            index = next((i for i, s in enumerate(sources) if s == cell.source and i not in used
                          and cells[i]["cell_type"] == cell.cell_type), None)
        if index is not None:
            matched[position] = index
            used.add(index)
    answers: dict[str, str] = {}
    for position, cell in enumerate(released_cells):
        if not _is_answer(cell):
            continue
        grade_id = _grade_id(cell)
        index = matched.get(position)
        if index is None:
            index = _by_neighbours(position, released_cells, matched, cells, used, cell.cell_type)
            if index is not None:
                matched[position] = index
                used.add(index)
                notes.append(f"answer cell {grade_id} found by its position (its nbgrader metadata was lost)")
        if index is None:
            notes.append(f"answer cell {grade_id} missing (deleted, or not found): graded as not answered")
            continue
        if cells[index]["cell_type"] != cell.cell_type:
            notes.append(f"answer cell {grade_id} changed to a {cells[index]['cell_type']} cell: graded as not answered")
            continue
        answers[grade_id] = sources[index]
    for position, cell in enumerate(released_cells):
        index = matched.get(position)
        if index is not None and not _is_answer(cell) and cell.metadata.get("nbgrader", {}).get("locked") \
                and sources[index].strip() != cell.source.strip():
            notes.append(f"locked cell {_grade_id(cell)} edited (the original runs)")
    # the notebook to run: released cells (answers replaced), then each added code cell after its predecessor
    run = nbformat.v4.new_notebook(metadata=json.loads(json.dumps(released.metadata)))
    run.nbformat, run.nbformat_minor = released.nbformat, released.nbformat_minor
    position_of = {index: position for position, index in matched.items()}
    added_after: dict[int, list[str]] = {}
    last = -1
    for index, cell in enumerate(cells):
        if index in position_of:
            last = position_of[index]
        elif cell["cell_type"] == "code" and sources[index].strip():
            added_after.setdefault(last, []).append(sources[index])
    for source in added_after.get(-1, []):
        run.cells.append(nbformat.v4.new_code_cell(source, metadata={"added": True}))
    for position, cell in enumerate(released_cells):
        copy = nbformat.from_dict(json.loads(json.dumps(cell)))
        if _is_answer(cell) and _grade_id(cell) in answers:
            copy.source = answers[_grade_id(cell)]
        run.cells.append(copy)
        for source in added_after.get(position, []):
            run.cells.append(nbformat.v4.new_code_cell(source, metadata={"added": True}))
    n_added = sum(len(v) for v in added_after.values())
    if n_added:
        notes.append(f"{n_added} code cell{'s' if n_added > 1 else ''} added by the student run as ordinary code")
    for cell in run.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cell.metadata = {key: value for key, value in cell.metadata.items() if key in ("nbgrader", "added")}
    return run, answers, notes


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    if isinstance(source, list):
        source = "".join(s for s in source if isinstance(s, str))
    return source if isinstance(source, str) else ""


def _by_neighbours(position, released_cells, matched, cells, used, cell_type) -> int | None:
    """The hand-in cell between the matches of the released cells around ``position`` (one candidate only)."""
    before = max((p for p in matched if p < position), default=None)
    after = min((p for p in matched if p > position), default=None)
    low = matched[before] + 1 if before is not None else 0
    high = matched[after] if after is not None else len(cells)
    candidates = [i for i in range(low, high) if i not in used and cells[i]["cell_type"] == cell_type
                  and _grade_id(cells[i]) is None]
    return candidates[0] if len(candidates) == 1 else None


def hidden_variants(source_cells) -> dict[str, list[int]]:
    """``{grade_id: [variant, ...]}`` from the hidden-test regions of the gradebook's test cells."""
    variants: dict[str, list[int]] = {}
    for cell in source_cells:
        for region in HIDDEN_REGION.findall(cell.source or ""):
            for grade_id, variant in HIDDEN_CALL.findall(region):
                variants.setdefault(grade_id, []).append(int(variant))
    return variants


# ----------------------------------------------------------------------------------------------------------------
# 2. The sandboxes


def _start_scratch(lab: str, answers: list[str], variants: dict, prefix: str, folder: Path, options: Options):
    """Start a from-scratch sandbox; returns (sandbox, results folder) or (None, results) when nothing to run."""
    results = folder / "results"
    config = folder.parent / f"{folder.name}.json"
    config.write_text(json.dumps({"lab": lab, "sources": answers, "variants": variants, "prefix": prefix,
                                  "case_timeout": options.case_timeout}))
    env = _threads_env(options)
    sandbox = _sandbox(options)(folder, options.limits, hide=("captum", "helpers.reference", "helpers.evaluation"),
                                env=env, readable=(config,))
    results = sandbox.make_writable("results")
    with open(sandbox.folder / "log", "wb") as log:
        sandbox.popen([sys.executable, "-m", "helpers.grader.scratch", str(config), str(results)], stdout=log)
    return sandbox, results


def _sandbox(options: Options) -> type[Sandbox]:
    return Sandbox if options.sandbox else NoSandbox


def _wait(sandbox, deadline: float, results_mb: int) -> str | None:
    """Wait for a from-scratch sandbox until ``deadline``; kill it if it floods its results folder."""
    while sandbox.process.poll() is None:
        if time.monotonic() > deadline:
            sandbox.kill()
            return "ran past its time limit (stopped)"
        if sandbox.usage_bytes() > results_mb * 2**20:
            sandbox.kill()
            return f"wrote more than {results_mb} MB (stopped)"
        time.sleep(0.1)
    return None


def run_submission(lab: str, released, handin, source_cells, workdir: Path, options: Options) -> dict:
    """Grade one hand-in: returns ``{"run": executed notebook, "trusted": checker output, "answers", "problems"}``."""
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    run_nb, answers, problems = rebuild(released, handin)
    code_answers = [answers[_grade_id(c)] for c in released.cells
                    if _is_answer(c) and c.cell_type == "code" and _grade_id(c) in answers]
    variants = hidden_variants(source_cells)
    visible = {exercise: [0] for exercise in _function_exercises(lab)}
    start = time.monotonic()
    recorded = workdir / "kernel" / "recorded"
    config = {"lab": lab, "kernel": str(recorded), "visible": str(workdir / "scratch-visible" / "results"),
              "hidden": str(workdir / "scratch-hidden" / "results"), "hidden_variants": variants}
    checker = _start_checker(config, workdir, options)  # loads while the sandboxes run; reads data only after
    scratch = [_start_scratch(lab, code_answers, visible, "v", workdir / "scratch-visible", options)]
    if variants:
        scratch.append(_start_scratch(lab, code_answers, variants, "h", workdir / "scratch-hidden", options))
    try:
        outcome = _run_kernel(run_nb, workdir / "kernel", _kernel_env(options, recorded), options)
        problems += outcome.problems + execution_notes(outcome.notebook)
        for (box, _), name in zip(scratch, ("self-check cases", "hidden cases")):
            trouble = _wait(box, start + options.scratch_timeout, options.limits.results_mb)
            if trouble:
                problems.append(f"from-scratch sandbox ({name}) {trouble}")
    except BaseException:
        checker.kill()
        raise
    finally:
        for box, _ in scratch:
            box.close()
    trusted = _finish_checker(checker, workdir, options)
    return {"run": outcome.notebook, "trusted": trusted, "answers": answers, "problems": problems,
            "run_seconds": outcome.seconds}


def _threads_env(options: Options) -> dict:
    """The threads of the kernel, the from-scratch sandboxes and the checker: the same for all three, so that the same
    computation gives the same bits (a ReLU's mask may flip where another number of threads rounds differently)."""
    return {"OMP_NUM_THREADS": str(options.threads), "MKL_NUM_THREADS": str(options.threads)}


def _kernel_env(options: Options, recorded: Path) -> dict:
    env = {**_threads_env(options), "NBGRADER_EXECUTION": "autograde", "MPLBACKEND": "Agg",
           "XAI_GRADING_RECORD": str(recorded)}
    if os.environ.get("XAI_FULL_DEMOS"):
        env["XAI_FULL_DEMOS"] = os.environ["XAI_FULL_DEMOS"]
    return env


def _run_kernel(run_nb, folder: Path, env: dict, options: Options):
    """Execute the notebook in a kernel sandbox; once more in a fresh sandbox if the kernel did not start (a loaded
    machine, not the student: no cell had run), so that a slow start never costs a grade."""
    for attempt in range(2):
        kernel_box = _sandbox(options)(folder, options.limits, env=env)
        kernel_box.make_writable("recorded")
        notebook = copy.deepcopy(run_nb)
        try:
            outcome = execute_notebook(notebook, kernel_box, options.run)
        finally:
            kernel_box.close()
        if outcome.started:
            break
    if attempt:
        outcome.problems.insert(0, "the kernel did not start at the first try; the notebook was run again")
    return outcome


def _function_exercises(lab: str) -> list[str]:
    from helpers.exercises import lab_module
    from helpers.exercises.core import FunctionExercise

    return [e.grade_id for e in lab_module(lab).LAB.exercises if isinstance(e, FunctionExercise)]


def _start_checker(config: dict, workdir: Path, options: Options) -> subprocess.Popen:
    """Start the trusted checker (a fresh process where no student code ever runs); it waits for ``go``."""
    (workdir / "check.json").write_text(json.dumps(config))
    env = {**os.environ, "XAI_OFFLINE": "1", "MPLBACKEND": "Agg", **_threads_env(options)}
    env.pop("XAI_GRADING_RECORD", None)
    with open(workdir / "check.log", "wb") as log:
        return subprocess.Popen([sys.executable, "-m", "helpers.grader.trusted", str(workdir / "check.json"),
                                 str(workdir / "checked.json"), "--wait"], stdin=subprocess.PIPE,
                                stdout=subprocess.DEVNULL, stderr=log, env=env, text=True)


def _finish_checker(checker: subprocess.Popen, workdir: Path, options: Options) -> dict:
    """Tell the checker that the sandboxes are done; its scores (``TimeoutExpired`` past ``check_timeout``)."""
    try:
        checker.communicate("go\n", timeout=options.check_timeout)
    except subprocess.TimeoutExpired:
        checker.kill()
        checker.wait()
        raise
    if checker.returncode != 0:
        raise RuntimeError(f"the trusted checker failed: {(workdir / 'check.log').read_text()[-2000:]}")
    return json.loads((workdir / "checked.json").read_text())


def _printable(text: str) -> str:
    """``text`` without control characters (no terminal escape sequences reach the instructor's screen)."""
    return "".join(ch for ch in text if ch.isprintable())


def execution_notes(run_nb) -> list[str]:
    """What the run shows of the student's cells, for the instructor's report (errors of answer and added cells,
    interrupted cells). Only names and a short text: the outputs are the student's data, not evidence."""
    notes = []
    for index, cell in enumerate(run_nb.cells):
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            continue
        label = meta.get("grade_id") or ("an added cell" if cell.metadata.get("added") else f"cell {index}")
        for output in cell.get("outputs", []):
            if output.get("output_type") != "error":
                continue
            ename = _printable(str(output.get("ename", "")))[:60]
            if ename == "NotImplementedError" and meta.get("solution"):
                notes.append(f"{label} not answered")
            elif ename in ("KeyboardInterrupt", "CellTimeoutError"):
                notes.append(f"timeout in {label} (interrupted after the cell time limit: infinite loop?)")
            elif ename in ("SyntaxError", "IndentationError"):
                notes.append(f"syntax error in {label}")
            else:
                evalue = _printable(" ".join(str(output.get("evalue", "")).split()))[:120]
                notes.append(f"exception in {label}: {ename}: {evalue}")
    return list(dict.fromkeys(notes))


# ----------------------------------------------------------------------------------------------------------------
# 3. What the instructor and the student open


_SCHEMES = re.compile(r"(?i)\b(javascript|vbscript|data|file)\s*:")


def safe_markdown(text: str) -> str:
    """A student's markdown with HTML escaped and script-capable link schemes disabled."""
    return _SCHEMES.sub(lambda m: m.group(1) + "-blocked:", html.escape(text, quote=False))


def _safe_output(output) -> nbformat.NotebookNode | None:
    kind = output.get("output_type")
    if kind == "stream":
        return nbformat.v4.new_output("stream", name="stdout" if output.get("name") != "stderr" else "stderr",
                                      text=str(output.get("text", ""))[:100_000])
    if kind == "error":
        return nbformat.v4.new_output("error", ename=str(output.get("ename", ""))[:200],
                                      evalue=str(output.get("evalue", ""))[:2000],
                                      traceback=[str(line)[:2000] for line in output.get("traceback", [])[:50]])
    if kind in ("display_data", "execute_result"):
        data = {}
        for mime in SAFE_MIME:
            value = output.get("data", {}).get(mime)
            if not isinstance(value, str):
                continue
            if mime.startswith("image/"):
                if len(value) > MAX_IMAGE_CHARS:
                    continue
                try:
                    base64.b64decode(value, validate=False)
                except (binascii.Error, ValueError):
                    continue
                data[mime] = re.sub(r"[^A-Za-z0-9+/=\n]", "", value)
            else:
                data[mime] = value[:20_000]
        if not data:
            return None
        if kind == "execute_result":
            return nbformat.v4.new_output("execute_result", data=data, execution_count=output.get("execution_count"))
        return nbformat.v4.new_output("display_data", data=data)
    return None


def safe_notebook(run_nb, trusted: dict) -> nbformat.NotebookNode:
    """The autograded notebook: outputs limited to text and images, student markdown escaped, and each test cell's
    output replaced by the trusted checker's verdict (a stream when it earned every point, an error otherwise)."""
    nb = nbformat.from_dict(json.loads(json.dumps(run_nb)))
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "markdown" and not meta.get("locked"):
            cell.source = safe_markdown(cell.source)
        if cell.cell_type != "code":
            continue
        cell.outputs = [o for o in (_safe_output(output) for output in cell.get("outputs", [])) if o is not None]
        grade_id = meta.get("grade_id")
        if meta.get("grade") and grade_id in trusted:
            verdict = trusted[grade_id]
            if verdict["score"] >= verdict["max_score"]:
                cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=verdict["message"] + "\n")]
            else:
                cell.outputs = [nbformat.v4.new_output("error", ename="Grader", evalue=verdict["message"],
                                                       traceback=["Grader: " + verdict["message"]])]
    return nb


def answer_unchanged(released_cell, answer: str | None) -> bool:
    """Whether a written answer is still the released stub (nbgrader gives it 0 without manual grading)."""
    return answer is None or answer.strip() == released_cell.source.strip()


def checksum_of(cell) -> str:
    return nbgrader_utils.compute_checksum(cell)
