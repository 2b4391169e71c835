"""Where the course is published, and the first cell of every lab (it installs the course on Colab only).

The one place to edit is the two assignments below, and the one command that sets them is::

    python -m helpers.colab set-address https://github.com/OWNER/REPO [--install-from pypi|git|URL]

It writes them here, regenerates README.md's Colab badges and set-up lines, and writes the setup cell into every
lab (``python -m helpers.course release``). Until an address is set, README shows that command instead of badges,
and the setup cell installs nothing on Colab (it says the course is not published yet): no address or package name
that someone else could register is ever used.

``REPOSITORY_URL``: the course's public GitHub repository (Colab opens notebooks from GitHub).
``INSTALL_FROM``: what the setup cell installs on Colab, always the version of pyproject.toml:
  ``"pypi"``: ``pip install xai-image-course==VERSION`` (the course is published on PyPI under that name);
  ``"git"``: ``git+REPOSITORY_URL@vVERSION`` (the repository has a tag vVERSION);
  any other string: a wheel or archive URL, installed as ``xai-image-course @ URL``.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

REPOSITORY_URL: str | None = None
INSTALL_FROM: str | None = None
BRANCH = "main"

REPO = Path(__file__).resolve().parents[1]
COLAB_BADGE_URL = "https://colab.research.google.com/assets/colab-badge.svg"
GITHUB_URL = re.compile(r"^https://github\.com/(?P<owner>[A-Za-z0-9_.-]+)/(?P<name>[A-Za-z0-9_.-]+?)(?:\.git)?/?$")


def project_name_and_version() -> tuple[str, str]:
    """The distribution's name and version: from pyproject.toml in a checkout, else from the installed metadata."""
    pyproject = REPO / "pyproject.toml"
    if pyproject.is_file():
        project = pyproject.read_text().split("[project]", 1)[1].split("\n[", 1)[0]
        name = re.search(r'^name\s*=\s*"([^"]+)"', project, re.M).group(1)
        version = re.search(r'^version\s*=\s*"([^"]+)"', project, re.M).group(1)
        return name, version
    from importlib import metadata

    name = metadata.packages_distributions()["helpers"][0]
    return name, metadata.version(name)


def requirement(install_from: str | None = INSTALL_FROM, repository_url: str | None = REPOSITORY_URL) -> str | None:
    """The pip requirement the setup cell installs, or None while the course is not published."""
    name, version = project_name_and_version()
    if install_from is None:
        return None
    if install_from == "pypi":
        return f"{name}=={version}"
    if install_from == "git":
        if repository_url is None:
            raise ValueError("INSTALL_FROM = 'git' needs REPOSITORY_URL")
        return f"{name} @ git+{repository_url}@v{version}"
    return f"{name} @ {install_from}"


def _source_label(install_from: str | None) -> str:
    return {"pypi": "from PyPI", "git": "from the course's repository"}.get(install_from, "from the course's wheel")


def setup_cell(install_from: str | None = INSTALL_FROM, repository_url: str | None = REPOSITORY_URL) -> str:
    """The source of the first cell of every lab."""
    name, version = project_name_and_version()
    spec = requirement(install_from, repository_url)
    if spec is None:
        return f'''# Setup: on Google Colab this installs the course ({name} {version}); elsewhere it does nothing.
import sys
if "google.colab" in sys.modules:
    raise RuntimeError("This copy of the course is not published for Colab yet (no install source in helpers/colab.py). "
                       "Run the labs on your computer: see README.md, Set-up.")'''
    return f'''# Setup: on Google Colab this installs the course ({name} {version}); elsewhere it does nothing.
import sys
if "google.colab" in sys.modules:
    def _install_course(name="{name}", version="{version}", spec={spec!r}):
        import importlib, importlib.metadata, os, re, site, subprocess, sysconfig, time
        def installed():
            try:
                return importlib.metadata.version(name)
            except importlib.metadata.PackageNotFoundError:
                return None
        if installed() == version:
            return print(f"The course is installed: {{name}} {{version}}.")
        print(f"Installing the course: {{name}} {{version}} {_source_label(install_from)} (about a minute) ...", flush=True)
        start = time.time()
        pip = subprocess.run([sys.executable, "-m", "pip", "install", "--progress-bar", "off", spec],
                             capture_output=True, text=True)
        for folder in (sysconfig.get_paths()["purelib"], site.getusersitepackages()):  # importable without a restart
            if os.path.isdir(folder) and folder not in sys.path:
                site.addsitedir(folder)
        importlib.invalidate_caches()
        if pip.returncode != 0 or installed() != version:
            print(pip.stdout[-1500:] + pip.stderr[-2500:])
            raise RuntimeError(f"Installing {{spec}} failed (pip's last messages are above). Check that the runtime is "
                               "connected to the internet, then run this cell again.")
        new = (re.findall(r"Successfully installed (.*)", pip.stdout) or [f"{{name}}-{{version}}"])[-1].split()
        print(f"Installed in {{time.time() - start:.0f}} s: {{', '.join(new)}}")
        replaced = {{re.sub(r"[-_.]+", "-", item.rsplit("-", 1)[0]).lower() for item in new}}
        modules = importlib.metadata.packages_distributions()
        stale = sorted({{module for module in list(sys.modules) if "." not in module and replaced & {{
            re.sub(r"[-_.]+", "-", dist).lower() for dist in modules.get(module, [])}}}})
        if stale:
            print(f"pip replaced modules this runtime had already imported ({{', '.join(stale)}}): "
                  "Runtime > Restart session, then run the lab from the top (this cell will not install again).")
    _install_course()'''


SETUP_CELL = setup_cell()


def colab_url(notebook_path: str, repository_url: str | None = REPOSITORY_URL) -> str | None:
    """'Open in Colab' address of a notebook of the repository, e.g. ``notebooks/02_saliency/02_saliency.ipynb``."""
    if repository_url is None:
        return None
    match = GITHUB_URL.match(repository_url)
    return f"https://colab.research.google.com/github/{match['owner']}/{match['name']}/blob/{BRANCH}/{notebook_path}"


# --------------------------------------------------------------------------------------------------------------
# README: the lab table's Colab column and the block between the address markers are generated from the settings.

BLOCK_BEGIN = "<!-- course-address: generated by `python -m helpers.colab set-address`, do not edit by hand -->"
BLOCK_END = "<!-- course-address: end -->"
LAB_ROW = re.compile(r"^(\|[^|\n]*\|[ \t]*\[[^\]]*\]\(notebooks/(?P<lab>[^/)]+)/(?P=lab)\.ipynb\)[ \t]*\|[^|\n]*\|)"
                     r"[^|\n]*\|[ \t]*$", re.M)


def readme_block(repository_url: str | None = REPOSITORY_URL, install_from: str | None = INSTALL_FROM) -> str:
    if repository_url is None:
        return "\n".join([
            "```bash",
            "git clone <address of this repository> xai-course && cd xai-course",
            "make lab     # creates .venv, installs the course from this folder, opens JupyterLab on notebooks/",
            "make test    # creates or reuses .venv and runs the whole test suite, browser test included (what CI runs)",
            "```",
            "",
            "**Colab** badges appear in the lab table once the course has a public address. Whoever publishes the course",
            "runs, from the repository top:",
            "",
            "```bash",
            ".venv/bin/python -m helpers.colab set-address https://github.com/OWNER/REPO   # --install-from pypi|git|URL",
            "```",
            "",
            "It writes the address in `helpers/colab.py` (the one place), regenerates the badges and these lines, and the",
            "setup cell of every lab (`python -m helpers.course release`); commit README.md, helpers/colab.py,",
            "solutions/ and notebooks/. `--install-from` says what the setup cell installs on Colab, always the version of",
            "pyproject.toml: `pypi` (default; publish the package first: `python -m build`, then upload `dist/`), `git`",
            "(the repository at tag `vVERSION`), or the URL of a wheel. Until then the setup cell installs nothing on",
            "Colab: it says the course is not published yet.",
        ])
    name = GITHUB_URL.match(repository_url)["name"]
    spec = requirement(install_from, repository_url)
    return "\n".join([
        "```bash",
        f"git clone {repository_url} && cd {name}",
        "make lab     # creates .venv, installs the course from this folder, opens JupyterLab on notebooks/",
        "make test    # creates or reuses .venv and runs the whole test suite, browser test included (what CI runs)",
        "```",
        "",
        "On **Colab**, click a badge in the lab table: the first cell of every lab installs the course",
        f"(`pip install \"{spec}\"`, about a minute) when it detects Colab, and does nothing anywhere else. Running",
        "it again does not reinstall; after a failed install (no connection), run it again. The course's address is",
        "set in one place, `helpers/colab.py` (`python -m helpers.colab set-address URL` changes it everywhere).",
    ])


def render_readme(text: str, repository_url: str | None = REPOSITORY_URL, install_from: str | None = INSTALL_FROM) -> str:
    """README text with the Colab column and the address block regenerated from the settings."""

    def row(match: re.Match) -> str:
        url = colab_url(f"notebooks/{match['lab']}/{match['lab']}.ipynb", repository_url)
        cell = f"[![Open In Colab]({COLAB_BADGE_URL})]({url})" if url else "not published yet"
        return f"{match.group(1)} {cell} |"

    text = LAB_ROW.sub(row, text)
    start, end = text.index(BLOCK_BEGIN) + len(BLOCK_BEGIN), text.index(BLOCK_END)
    return text[:start] + "\n" + readme_block(repository_url, install_from) + "\n" + text[end:]


def set_address(repository_url: str, install_from: str = "pypi", release: bool = True) -> None:
    """Write the settings into this file, regenerate README.md and (``release``) every lab's setup cell."""
    match = GITHUB_URL.match(repository_url)
    if match is None:
        raise ValueError(f"{repository_url!r} is not https://github.com/OWNER/REPO (Colab opens notebooks from GitHub)")
    repository_url = f"https://github.com/{match['owner']}/{match['name']}"
    requirement(install_from, repository_url)  # validates the combination
    source = Path(__file__).read_text()
    source = re.sub(r"^REPOSITORY_URL: str \| None = .*$", f"REPOSITORY_URL: str | None = {repository_url!r}", source,
                    count=1, flags=re.M)
    source = re.sub(r"^INSTALL_FROM: str \| None = .*$", f"INSTALL_FROM: str | None = {install_from!r}", source,
                    count=1, flags=re.M)
    Path(__file__).write_text(source)
    readme = REPO / "README.md"
    readme.write_text(render_readme(readme.read_text(), repository_url, install_from))
    print(f"helpers/colab.py and README.md: {repository_url}, Colab installs {requirement(install_from, repository_url)}")
    if release:
        # A fresh interpreter, so that helpers.colab.SETUP_CELL is built from the settings just written.
        import subprocess

        subprocess.run([sys.executable, "-m", "helpers.course", "release"], cwd=REPO, check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.colab", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    p_set = commands.add_parser("set-address", help="set the course's public address; regenerate badges and setup cells")
    p_set.add_argument("url", help="https://github.com/OWNER/REPO")
    p_set.add_argument("--install-from", default="pypi",
                       help="pypi (default), git (the repository at tag vVERSION) or the URL of a wheel")
    p_set.add_argument("--no-release", action="store_true", help="do not regenerate the labs' setup cells")
    commands.add_parser("readme", help="regenerate README.md's Colab column and address block from the settings")
    args = parser.parse_args(argv)
    try:
        if args.command == "set-address":
            set_address(args.url, args.install_from, release=not args.no_release)
        else:
            readme = REPO / "README.md"
            readme.write_text(render_readme(readme.read_text()))
    except ValueError as error:
        parser.error(str(error))
    return 0


if __name__ == "__main__":
    sys.exit(main())
