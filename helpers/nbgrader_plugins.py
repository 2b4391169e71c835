"""The course's nbgrader plugins (configured in ``nbgrader_config.py``).

``CompleteStubs`` replaces nbgrader's ``ClearSolutions`` when student notebooks are generated. Each ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` region of a code cell becomes, indented like the marker::

    ### COMPLETE ~N lines expected ###
    raise NotImplementedError()

where N counts the region's lines that are neither blank nor comments. Markdown answers get nbgrader's
usual text stub.

``LimitOutputSize`` extends nbgrader's ``LimitOutput`` (which caps the number of lines) with a cap on characters
per output, so that a submission printing 100 MB cannot produce a 100 MB feedback page.

``RestoreMissingCells`` replaces nbgrader's ``OverwriteCells`` when submissions are sanitized: a test cell that the
student deleted, or retyped so that it lost its metadata (Colab can drop it), is put back from the gradebook.
nbgrader 0.9.6 puts it after the preceding solution or test cell and crashes (KeyError) when that one is missing
too (a retyped answer cell); here it then goes before the next cell of the assignment that is present, or at the end.
nbgrader's version also crashes (KeyError 'grade_id') on a duplicated cell, whose copy keeps an empty ``nbgrader``
metadata; here such cells are ignored.

``WarningsAreNotFailures`` runs after execution: nbgrader 0.9.6 gives 0 points to a test cell that wrote anything
to stderr (``utils.determine_grade``), so a mere ``UserWarning`` (from torch, from the checks, from the student's
code) would cost the exercise. It turns the stderr text of test cells into stdout text marked ``[stderr]``:
only an exception (an ``error`` output) fails a test.

``LabNotebookCollector`` is the file-name plugin of ``nbgrader zip_collect``: every ``.ipynb`` handed in for a lab
is filed as that lab's notebook (students rename their downloads: ``Copy of 01_toy_model.ipynb``, ...), and the
student id is read from the file's path (relative to the extracted folder) with ``named_regexp``.
"""
from __future__ import annotations

import re

import datetime
import os

import nbformat
from nbgrader.plugins import FileNameCollectorPlugin
from nbgrader import utils
from nbgrader.preprocessors import ClearSolutions, LimitOutput, NbGraderPreprocessor, OverwriteCells
from traitlets import Bool, Integer

STUB_CODE = "raise NotImplementedError()"


def count_code_lines(lines: list[str]) -> int:
    """Number of lines that are neither blank nor pure comments (at least 1)."""
    return max(1, sum(1 for line in lines if line.strip() and not line.strip().startswith("#")))


def complete_header(n_lines: int) -> str:
    return f"### COMPLETE ~{n_lines} lines expected ###"


class CompleteStubs(ClearSolutions):
    """``ClearSolutions`` whose code stub says how many lines the solution region had."""

    def _replace_solution_region(self, cell, language):
        if cell.cell_type != "code":
            return super()._replace_solution_region(cell, language)
        new_lines: list[str] = []
        region: list[str] | None = None
        indent = ""
        replaced = False
        for line in cell.source.split("\n"):
            if self.begin_solution_delimeter in line:
                if region is not None:
                    raise RuntimeError("encountered nested begin solution statements")
                region, indent, replaced = [], re.match(r"\s*", line).group(0), True
            elif self.end_solution_delimeter in line:
                if region is None:
                    raise RuntimeError("END SOLUTION without BEGIN SOLUTION")
                new_lines += [indent + complete_header(count_code_lines(region)), indent + STUB_CODE]
                region = None
            elif region is not None:
                region.append(line)
            else:
                new_lines.append(line)
        if region is not None:
            raise RuntimeError("no end solution statement found")
        cell.source = "\n".join(new_lines)
        return replaced

    def preprocess_cell(self, cell, resources, cell_index):
        # A solution cell without markers is replaced whole: count its own lines for the header.
        if cell.cell_type == "code" and self.begin_solution_delimeter not in cell.source:
            n_lines = count_code_lines(cell.source.split("\n"))
            self.code_stub = dict(self.code_stub, python=complete_header(n_lines) + "\n" + STUB_CODE)
        return super().preprocess_cell(cell, resources, cell_index)


class LimitOutputSize(LimitOutput):
    """``LimitOutput`` plus a cap of ``max_chars`` characters on each text output of a cell."""

    max_chars = Integer(20_000, help="maximum number of characters of each text output").tag(config=True)

    def preprocess_cell(self, cell, resources, cell_index):
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        for output in cell.get("outputs", []):
            if output.output_type == "stream" and len(output.text) > self.max_chars:
                output.text = output.text[: self.max_chars] + f"\n... Output truncated to {self.max_chars} characters ..."
            for mime, value in list(output.get("data", {}).items()):
                if isinstance(value, str) and len(value) > 10 * self.max_chars and not mime.startswith("image/"):
                    output.data[mime] = f"... {mime} output of {len(value)} characters removed ..."
        return cell, resources


class LabNotebookCollector(FileNameCollectorPlugin):
    """``zip_collect`` plugin: the student id comes from ``named_regexp`` (group ``student_id``, optional
    ``timestamp``) searched in the file's path relative to the extracted folder; the notebook is always
    ``<lab>.ipynb``. Without a timestamp group, the file's modification time decides between two hand-ins."""

    def collect(self, submitted_file: str):
        if os.path.splitext(submitted_file)[1] not in self.valid_ext:
            return None
        app = self.parent
        relative = os.path.relpath(submitted_file, app._format_collect_path(app.extracted_directory))
        match = re.search(self.named_regexp, relative)
        if match is None or not match.groupdict().get("student_id"):
            self.log.warning("No student id found by the regexp %r in %r: file skipped", self.named_regexp, relative)
            return None
        info = {"student_id": match["student_id"], "file_id": f"{app.coursedir.assignment_id}.ipynb"}
        mtime = datetime.datetime.fromtimestamp(os.path.getmtime(submitted_file), datetime.timezone.utc)
        info["timestamp"] = match.groupdict().get("timestamp") or mtime.isoformat(" ")
        return info


class RestoreMissingCells(OverwriteCells):
    """``OverwriteCells`` that puts back missing test cells even when their neighbours are missing too."""

    add_missing_cells = Bool(True, help="put missing test cells back (always, in this course)").tag(config=True)

    def preprocess(self, nb, resources):
        # DeduplicateIds leaves the copies of a duplicated cell with empty nbgrader metadata, which nbgrader then
        # rejects as "an old version" of its format: make them ordinary cells.
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", None) == {}:
                del cell.metadata["nbgrader"]
        return super().preprocess(nb, resources)

    def add_missing_grade_cells(self, nb, resources):
        source_nb = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        sources = {cell.name: cell for cell in source_nb.source_cells}
        order = [cell.name for cell in source_nb.source_cells]
        solution_ids = {cell.name for cell in source_nb.solution_cells}
        for grade_cell in sorted(source_nb.grade_cells, key=lambda cell: order.index(cell.name)):
            present = {cell.metadata.nbgrader.get("grade_id"): index for index, cell in enumerate(nb.cells)
                       if utils.is_grade(cell) or utils.is_solution(cell)}
            if grade_cell.name in present:
                continue
            self.log.warning(f"Missing grade cell {grade_cell.name} encountered, adding to notebook")
            cell = nbformat.from_dict(self.missing_cell_transform(  # nested dicts -> NotebookNode
                sources[grade_cell.name], grade_cell.max_score, is_solution=grade_cell.name in solution_ids))
            position = order.index(grade_cell.name)
            later = [present[name] for name in order[position + 1:] if name in present]
            if position > 0 and order[position - 1] in present:
                nb.cells.insert(present[order[position - 1]] + 1, cell)
            elif later:
                nb.cells.insert(later[0], cell)
            else:
                nb.cells.append(cell)
        return nb, resources

    def add_missing_task_cells(self, nb, resources):
        source_nb = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        sources = {cell.name: cell for cell in source_nb.source_cells}
        present = {cell.metadata.get("nbgrader", {}).get("grade_id") for cell in nb.cells}
        for task_cell in source_nb.task_cells:
            if task_cell.name not in present:
                nb.cells.append(nbformat.from_dict(
                    self.missing_cell_transform(sources[task_cell.name], task_cell.max_score, is_task=True)))
        return nb, resources


class WarningsAreNotFailures(NbGraderPreprocessor):
    """Make the stderr stream outputs of test cells stdout (prefixed ``[stderr]``) so that they cost no points."""

    def preprocess_cell(self, cell, resources, cell_index):
        if utils.is_grade(cell) and cell.cell_type == "code":
            for output in cell.get("outputs", []):
                if output.output_type == "stream" and output.name == "stderr":
                    output.name = "stdout"
                    output.text = "".join(f"[stderr] {line}" for line in output.text.splitlines(keepends=True))
        return cell, resources
