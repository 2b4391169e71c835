"""The first cell of every lab: on Google Colab it installs the course; elsewhere it does nothing.

``REPOSITORY_URL`` is the one place where the course's repository address is written. ``SETUP_CELL`` is the
cell's source; ``python -m helpers.course release`` writes it into every solution notebook before the student
versions are generated, and a test checks that every notebook starts with it.
"""
REPOSITORY_URL = "https://github.com/xai-course/xai-image-classifiers"
CLONE_DIR = "/content/xai-image-classifiers"

SETUP_CELL = f'''# Setup: on Google Colab this installs the course (the helpers package and the data); elsewhere it does nothing.
import os, subprocess, sys
if "google.colab" in sys.modules:
    if not os.path.isdir("{CLONE_DIR}"):
        subprocess.run(["git", "clone", "--depth=1", "{REPOSITORY_URL}", "{CLONE_DIR}"], check=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "-e", "{CLONE_DIR}"], check=True)
    sys.path.insert(0, "{CLONE_DIR}")'''

COLAB_BADGE_URL = "https://colab.research.google.com/assets/colab-badge.svg"


def colab_url(notebook_path: str) -> str:
    """'Open in Colab' address of a notebook of the repository, e.g. ``notebooks/02_saliency/02_saliency.ipynb``."""
    path = REPOSITORY_URL.removeprefix("https://github.com/")
    return f"https://colab.research.google.com/github/{path}/blob/main/{notebook_path}"
