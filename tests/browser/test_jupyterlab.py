"""The student's day and the instructor's formgrader, in a real browser (Playwright driving Debian's Chromium).

- `make lab` (a copy of notebooks/, a free port, a token, headless): lab 2 opens unmodified, with nbgrader's
  Validate button and no instructor tool; Run All renders the figures and the first self-check says the exercise
  is not answered yet; with the answer of the solution typed in, Run All again gives the success line; the
  "Your progress" cell lists every exercise.
- `make instructor` (a temporary grading workspace inside the repository): the Nbgrader menu opens the formgrader,
  which lists the labs without errors.

Screenshots go to $XAI_SCREENSHOT_DIR or runs/browser/ (the test prints the folder). `make test-browser` runs this
file alone; `make test` runs it after the rest of the suite; .ci/run installs chromium with apt when it is missing.
Set XAI_BROWSER_LAB to drive another lab.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("XAI_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-quic"]
LAB = os.environ.get("XAI_BROWSER_LAB", "02_saliency")
SCREENSHOTS = Path(os.environ.get("XAI_SCREENSHOT_DIR", REPO / "runs" / "browser"))
START_TIMEOUT = 300  # s: `make` may have to install first
RUN_TIMEOUT = 360_000  # ms: the kernel starts and runs the lab up to the first self-check on 2 CPU cores

# User settings of the test's JupyterLab only (a temporary JUPYTERLAB_SETTINGS_DIR): no autosave (the served copy
# stays as released), every cell in the page (no windowing), no news pop-up.
TEST_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                         "checkForUpdates": False},
}


TIMINGS: list[str] = []  # printed at the end: where the minutes go


class timed:
    def __init__(self, name: str):
        self.name = name

    def __enter__(self):
        self.start = time.monotonic()

    def __exit__(self, *exc):
        TIMINGS.append(f"{self.name}: {time.monotonic() - self.start:.1f} s")
        (SCREENSHOTS / "timings.txt").write_text("\n".join(TIMINGS) + "\n")
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A `make lab` / `make instructor` JupyterLab in its own process group, on a free port with a token."""

    def __init__(self, target: str, tmp: Path, env: dict | None = None, lab_dir: Path | None = None):
        self.port, self.token = free_port(), secrets.token_hex(16)
        settings = tmp / "settings"
        for name, values in TEST_SETTINGS.items():
            (settings / name).parent.mkdir(parents=True, exist_ok=True)
            (settings / name).write_text(json.dumps(values))
        self.log_path = tmp / f"{target}.log"
        lab_args = (f"--no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port={self.port} "
                    f"--ServerApp.port_retries=0 --IdentityProvider.token={self.token}")
        command = ["make", "--no-print-directory", target, f"LAB_ARGS={lab_args}"]
        if lab_dir is not None:
            command.append(f"LAB_DIR={lab_dir}")
        run_env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(settings),
                   "JUPYTERLAB_WORKSPACES_DIR": str(tmp / "workspaces"), "XAI_OFFLINE": "1", **(env or {})}
        run_env.pop("MPLBACKEND", None)  # the kernel draws inline
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(command, cwd=REPO, env=run_env, stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        self.base = f"http://127.0.0.1:{self.port}"
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited ({self.process.returncode}):\n{self.output()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.base}/api/status?token={self.token}", timeout=5) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(1)
        self.stop()
        raise RuntimeError(f"no server after {START_TIMEOUT} s:\n{self.output()[-3000:]}")

    def url(self, path: str) -> str:
        separator = "&" if "?" in path else "?"
        return f"{self.base}{path}{separator}token={self.token}"

    def output(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        """SIGTERM to make and JupyterLab (one process group); SIGKILL what is left after 20 s."""
        group = self.process.pid
        try:
            os.killpg(group, signal.SIGTERM)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                self.process.poll()
                os.killpg(group, 0)  # ProcessLookupError once every process of the group is gone
                time.sleep(0.2)
            os.killpg(group, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        self.log.close()


@pytest.fixture(scope="module")
def screenshots(request) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    yield SCREENSHOTS
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    shots = "\n".join(f"  {path}" for path in sorted(SCREENSHOTS.glob("*.png")))
    if reporter is not None:
        reporter.write_line(f"\nScreenshots of the browser test in {SCREENSHOTS}:\n{shots}")
        reporter.write_line("Timings: " + "; ".join(TIMINGS))


@pytest.fixture(scope="module")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install -y chromium` (.ci/run does it), or set XAI_CHROMIUM")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


def open_page(browser, url: str, ready: str, attempts: int = 2):
    """A new page at ``url`` once ``ready`` is visible; one retry when JupyterLab is slow to load."""
    for attempt in range(attempts):
        context = browser.new_context(viewport={"width": 1400, "height": 1300})
        page = context.new_page()
        try:
            page.goto(url, timeout=120_000)
            page.wait_for_selector(ready, timeout=120_000)
            return page
        except Exception:
            context.close()
            if attempt == attempts - 1:
                raise


class failure_screenshot:
    """On an exception inside the block, save the page as failure-NAME.png (and say where)."""

    def __init__(self, folder: Path, name: str):
        self.folder, self.name, self.page = folder, name, None

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if error is not None and self.page is not None:
            path = self.folder / f"failure-{self.name}.png"
            try:
                self.page.screenshot(path=str(path))
                error.add_note(f"screenshot of the page: {path}")
            except Exception:  # the page may be gone
                pass
        return False


def menu(page, top: str, item: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{top}$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{item}$")).click()


def wait_idle(page, timeout: int = RUN_TIMEOUT) -> None:
    """The kernel is started and idle, and no cell waits to run ([*])."""
    page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"\| Idle$")).wait_for(timeout=timeout)
    page.wait_for_function("() => ![...document.querySelectorAll('.jp-InputArea-prompt')]"
                           ".some(prompt => prompt.textContent.includes('*'))", timeout=timeout)


def run_all(page) -> None:
    """Run > Run All Cells; returns when the kernel is idle again (Run All stops at the first error)."""
    menu(page, "Run", "Run All Cells")
    try:
        page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"\| Busy$")).wait_for(timeout=30_000)
    except Exception:  # already done
        pass
    wait_idle(page)


def run_cell(page, cell) -> None:
    cell.locator(".cm-content").click()
    page.keyboard.press("Shift+Enter")
    page.wait_for_timeout(500)
    wait_idle(page)


def output(cell) -> str:
    outputs = cell.locator(".jp-OutputArea-output")
    return "\n".join(outputs.all_inner_texts())


def first_exercise(student: nbformat.NotebookNode, solution: nbformat.NotebookNode):
    """(answer cell indexes, the solution's source of each, index of the exercise's self-check cell)."""
    solutions = {c.metadata.nbgrader["grade_id"]: c.source for c in solution.cells
                 if c.metadata.get("nbgrader", {}).get("grade_id")}
    answers = []
    for index, cell in enumerate(student.cells):
        info = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and info.get("solution"):
            answers.append(index)
        if cell.cell_type == "code" and info.get("grade"):
            sources = []
            for answer in answers:
                text = solutions[student.cells[answer].metadata.nbgrader["grade_id"]]
                sources.append("\n".join(line for line in text.split("\n")
                                         if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line))
            return answers, sources, index
    raise AssertionError("the lab has no graded exercise")


def test_student_lab(browser, screenshots, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("student")
    served = tmp / "notebooks"
    shutil.copytree(REPO / "notebooks", served, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    notebook_file = served / LAB / f"{LAB}.ipynb"
    released = notebook_file.read_bytes()
    student = nbformat.reads(released.decode(), as_version=4)
    solution = nbformat.read(REPO / "solutions" / LAB / f"{LAB}.ipynb", as_version=4)
    answers, answer_sources, check_index = first_exercise(student, solution)
    progress_index = next(i for i, c in enumerate(student.cells) if c.source.strip() == "show_progress()")
    exercises = sum(1 for c in student.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade"))

    with timed("make lab starts"):
        server = Server("lab", tmp, lab_dir=served)
    try:
        with failure_screenshot(screenshots, "student") as failure:
            with timed("lab opens"):
                page = failure.page = open_page(
                    browser, server.url(f"/lab/workspaces/test-{secrets.token_hex(4)}/tree/{LAB}/{LAB}.ipynb?reset"),
                    ".jp-NotebookPanel .jp-Cell")
            student_day(page, screenshots, notebook_file, released, len(student.cells), answers, answer_sources,
                        check_index, progress_index, exercises)
    finally:
        server.stop()
    errors = [line for line in server.output().splitlines() if re.search(r"\[E |Traceback", line)]
    assert errors == [], "\n".join(errors)


def student_day(page, screenshots, notebook_file, released, n_cells, answers, answer_sources, check_index,
                progress_index, exercises):
    # Students: nbgrader's Validate button, no instructor tool.
    config = json.loads(page.locator("#jupyter-config-data").text_content())
    disabled = set(config.get("disabledExtensions", []))
    for plugin in ("menu", "formgrader", "create-assignment", "assignment-list", "course-list"):
        assert f"@jupyter/nbgrader:{plugin}" in disabled, disabled
    wait_idle(page)
    menus = page.locator(".lm-MenuBar-itemLabel").all_inner_texts()
    assert "Nbgrader" not in menus, menus
    assert page.locator(".jp-NotebookPanel-toolbar", has_text="Validate").count() == 1
    page.wait_for_timeout(3000)  # JupyterLab writes the kernel's metadata into the model once it is connected
    body = page.locator("body").inner_text()
    for tool in ("Create Assignment", "Formgrader", "Assignment List", "Course List"):
        assert tool not in body, f"{tool} is shown to students"
    # Opened, not modified.
    assert page.locator(".lm-TabBar-tab.jp-mod-dirty").count() == 0, "the lab shows as modified right after opening"

    cells = page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell")
    assert cells.count() == n_cells
    check = cells.nth(check_index)
    with timed("Run All"):
        run_all(page)
    if not output(check):  # Run All stopped at the unanswered answer cell: the student runs the self-check
        run_cell(page, check)
    message = output(check)
    assert "not answered yet" in message and len(message.strip().splitlines()) <= 3, message
    assert "Traceback" not in message and "helpers/" not in message, message
    figures = page.locator(".jp-Cell .jp-OutputArea-output img")
    assert figures.count() >= 1, "no figure rendered"
    sizes = figures.evaluate_all("images => images.map(image => [image.naturalWidth, image.naturalHeight])")
    assert all(width > 50 and height > 50 for width, height in sizes), sizes
    check.evaluate("cell => cell.scrollIntoView({block: 'end'})")  # the self-check at the bottom, figures above
    page.screenshot(path=str(screenshots / "1-after-run-all.png"))

    # The student types the answer (the solution's code) into the answer cells, runs them and the self-check.
    for index, source in zip(answers, answer_sources):
        editor = cells.nth(index).locator(".cm-content")
        editor.click()
        page.keyboard.press("Control+a")
        page.keyboard.insert_text(source)
        typed = editor.inner_text()
        assert [line.strip() for line in typed.splitlines() if line.strip()] == \
            [line.strip() for line in source.splitlines() if line.strip()], typed
    page.keyboard.press("Escape")
    with timed("answer and self-check"):
        for index in answers + [check_index]:  # the student runs the cells they changed, then the self-check
            run_cell(page, cells.nth(index))
    success = output(check)
    assert re.search(r"Exercise \d+: correct", success) and "not answered" not in success, success
    check.evaluate("cell => cell.scrollIntoView({block: 'center'})")
    page.screenshot(path=str(screenshots / "2-answered.png"))

    # "Your progress": one line per exercise, the first one passed.
    progress = cells.nth(progress_index)
    with timed("progress cell"):
        run_cell(page, progress)
    lines = output(progress).splitlines()
    per_exercise = [line for line in lines if re.match(r"Exercise \d+.*\[[\d.]+/[\d.]+\]", line)]
    assert len(per_exercise) == exercises, lines
    assert "not answered" not in per_exercise[0] and re.search(r"\[(\S+)/\1\]", per_exercise[0]), per_exercise
    assert any("not answered yet" in line for line in per_exercise[1:]), per_exercise
    progress.scroll_into_view_if_needed()
    progress.screenshot(path=str(screenshots / "3-progress.png"))
    results = progress.locator(".jp-OutputArea-executeResult")
    assert results.count() == 0, f"show_progress() also displays its return value: {results.all_inner_texts()}"
    assert notebook_file.read_bytes() == released, "the served copy was saved"


def test_instructor_formgrader(browser, screenshots, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("instructor")
    grading = REPO / "grading" / f"browser-test-{secrets.token_hex(4)}"  # inside the server's root, as nbgrader needs
    with timed("make instructor starts"):
        server = Server("instructor", tmp, env={"XAI_GRADING_DIR": str(grading)})
    try:
        with failure_screenshot(screenshots, "instructor") as failure:
            page = failure.page = open_page(browser, server.url(f"/lab/workspaces/test-{secrets.token_hex(4)}?reset"),
                                            ".lm-MenuBar-itemLabel:text-is('Nbgrader')")
            assert page.locator(".lm-TabBar-tab", has_text="Create Assignment").count() == 1
            start = time.monotonic()
            menu(page, "Nbgrader", "Formgrader")
            formgrader = page.frame_locator("iframe").first
            formgrader.locator("h1", has_text="Manage Assignments").wait_for(timeout=60_000)
            formgrader.locator("td", has_text="01_toy_model").first.wait_for(timeout=60_000)
            text = formgrader.locator("body").inner_text()
            assert "not a subdirectory" not in text and "error" not in text.lower(), text[:2000]
            assert formgrader.locator(".alert-danger:visible").count() == 0
            TIMINGS.append(f"formgrader lists the labs: {time.monotonic() - start:.1f} s")
            (SCREENSHOTS / "timings.txt").write_text("\n".join(TIMINGS) + "\n")
            page.screenshot(path=str(screenshots / "4-formgrader.png"))
            formgrader.locator("a", has_text="Manual Grading").click()
            formgrader.locator("h1", has_text="Manual Grading").wait_for(timeout=60_000)
            assert formgrader.locator(".alert-danger:visible").count() == 0
    finally:
        server.stop()
        shutil.rmtree(grading, ignore_errors=True)
    log = server.output()
    assert "formgrader | extension was successfully loaded" in log, log[-3000:]
    assert "not a subdirectory" not in log and "Traceback" not in log, log[-3000:]
