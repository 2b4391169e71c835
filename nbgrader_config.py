"""nbgrader configuration of the course (read by every `nbgrader` command run from this folder).

- Instructor notebooks (the single source) live in `solutions/<lab>/<lab>.ipynb`; student notebooks are
  generated into `notebooks/<lab>/<lab>.ipynb`. Every folder of `solutions/` is one assignment (one lab).
- Everything the grading produces (gradebook.db, submitted/, autograded/, feedback/) goes to the grading
  workspace: `grading/` here (git-ignored), or the folder named by $XAI_GRADING_DIR.
- Use `python -m helpers.course ...` for the instructor workflow (README, "For instructors").
"""
import os
from pathlib import Path

c = get_config()  # noqa: F821 (provided by nbgrader)

REPO = Path(__file__).resolve().parent

c.CourseDirectory.course_id = "xai-image-classifiers"
c.CourseDirectory.root = os.environ.get("XAI_GRADING_DIR", str(REPO / "grading"))
c.CourseDirectory.source_directory = str(REPO / "solutions")
c.CourseDirectory.release_directory = os.environ.get("XAI_RELEASE_DIR", str(REPO / "notebooks"))
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "*.pt", "*.png"]

# Student versions: `### COMPLETE ~N lines expected ###` stubs instead of nbgrader's "# YOUR CODE HERE".
c.GenerateAssignment.preprocessors = [
    "nbgrader.preprocessors.IncludeHeaderFooter",
    "nbgrader.preprocessors.InstantiateTests",
    "nbgrader.preprocessors.LockCells",
    "helpers.nbgrader_plugins.CompleteStubs",
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.CheckCellMetadata",
    "nbgrader.preprocessors.ComputeChecksums",
    "nbgrader.preprocessors.SaveCells",
    "nbgrader.preprocessors.ClearHiddenTests",
    "nbgrader.preprocessors.ClearMarkScheme",
    "nbgrader.preprocessors.ComputeChecksums",
    "nbgrader.preprocessors.CheckCellMetadata",
    # No execution metadata; complete kernelspec and language_info: the lab opens unmodified in JupyterLab.
    "helpers.labenv.CleanReleaseMetadata",
]

# Grading does not run `nbgrader autograde`: `python -m helpers.course autograde` runs each submission in the
# grading sandbox, checks the recorded answers in a trusted process and writes the scores to this gradebook
# (helpers/grader/). nbgrader keeps the gradebook, the formgrader, generate_feedback and export.
# Execution limits of `nbgrader validate` (the students' Validate button): 300 s per cell instead of nbgrader's 30 s.
c.Execute.timeout = int(os.environ.get("XAI_CELL_TIMEOUT", "300"))
c.Execute.interrupt_on_timeout = True

# Feedback pages and the formgrader render student text: sanitize the HTML they produce (defence in depth: the
# autograded notebooks already keep only text and images, and the students' markdown is escaped).
c.HTMLExporter.sanitize_html = True

# Collecting hand-ins (`python -m helpers.course collect`): every .ipynb handed in for a lab is that lab's notebook,
# whatever the student named it; the student id comes from the file name (or its folder), by this regexp.
c.ZipCollectApp.collector_plugin = "helpers.nbgrader_plugins.LabNotebookCollector"
c.LabNotebookCollector.named_regexp = os.environ.get("XAI_COLLECT_REGEXP", r"(?P<student_id>[A-Za-z0-9.@-]+)_")
