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
]

# Execution: nbgrader's default of 30 s per cell is too short for occlusion, IG or LIME on a laptop CPU.
# The slowest graded cell of the course takes well under a minute on 2 cores; 300 s leaves a wide margin.
c.Execute.timeout = int(os.environ.get("XAI_CELL_TIMEOUT", "300"))
c.Execute.interrupt_on_timeout = True

# Submissions: a deleted or retyped test cell is put back from the gradebook and run against the student's code
# (nbgrader's default leaves that exercise ungraded; its add_missing_cells crashes when the answer cell is retyped).
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "helpers.nbgrader_plugins.RestoreMissingCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]

# Output limits: at most 1000 lines and 20,000 characters per output of a cell in graded notebooks.
# A warning printed by a test cell must not cost the exercise (nbgrader scores any stderr output as a failure).
c.Autograde.autograde_preprocessors = [
    "nbgrader.preprocessors.Execute",
    "helpers.nbgrader_plugins.WarningsAreNotFailures",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "helpers.nbgrader_plugins.LimitOutputSize",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.LimitOutput.max_lines = 1000
c.LimitOutputSize.max_chars = 20_000

# Collecting hand-ins (`python -m helpers.course collect`): every .ipynb handed in for a lab is that lab's notebook,
# whatever the student named it; the student id comes from the file name (or its folder), by this regexp.
c.ZipCollectApp.collector_plugin = "helpers.nbgrader_plugins.LabNotebookCollector"
c.LabNotebookCollector.named_regexp = os.environ.get("XAI_COLLECT_REGEXP", r"(?P<student_id>[A-Za-z0-9.@-]+)_")
