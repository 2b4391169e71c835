"""The course's nbgrader plugins (configured in ``nbgrader_config.py``).

``CompleteStubs`` replaces nbgrader's ``ClearSolutions`` when student notebooks are generated. Each ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` region of a code cell becomes, indented like the marker::

    ### COMPLETE ~N lines expected ###
    raise NotImplementedError()

where N counts the region's lines that are neither blank nor comments. Markdown answers get nbgrader's
usual text stub.

``LabNotebookCollector`` is the file-name plugin of ``nbgrader zip_collect``: every ``.ipynb`` handed in for a lab
is filed as that lab's notebook (students rename their downloads: ``Copy of 01_toy_model.ipynb``, ...), and the
student id is read from the file's path (relative to the extracted folder) with ``named_regexp``.
"""
from __future__ import annotations

import re

import datetime
import os

from nbgrader.plugins import FileNameCollectorPlugin
from nbgrader.preprocessors import ClearSolutions

STUB_CODE = "raise NotImplementedError()"
#: A valid student id (collect and the grader use it): letters, digits, `. _ @ -`, no path separator, no leading dot.
STUDENT_ID = re.compile(r"^(?!\.)[A-Za-z0-9._@-]{1,64}$")


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
        if not STUDENT_ID.match(match["student_id"]):
            self.log.warning("Invalid student id %r in %r (letters, digits, . _ @ - only, not starting with a dot): "
                             "file skipped", match["student_id"], relative)
            return None
        info = {"student_id": match["student_id"], "file_id": f"{app.coursedir.assignment_id}.ipynb"}
        mtime = datetime.datetime.fromtimestamp(os.path.getmtime(submitted_file), datetime.timezone.utc)
        info["timestamp"] = match.groupdict().get("timestamp") or mtime.isoformat(" ")
        return info


