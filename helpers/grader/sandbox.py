"""The grading sandbox: every process that runs student code runs inside bubblewrap (``bwrap``).

What a sandboxed process sees and may do (see README, "The grading sandbox"):

- read-only: the system's ``/usr`` (and ``/lib``, ``/bin`` links), the Python installation and the virtual
  environment, the course package (``helpers/``, without the modules listed in ``hide``) and its data;
  a few files of ``/etc`` (the dynamic linker cache, a one-line ``passwd``);
- writable: a ``/tmp`` and a home folder in memory (tmpfs, with a size limit), and the folders bound with
  ``writable`` (the kernel's IPC sockets, the results folder);
- nothing else: not the repository (``solutions/``), not the grading workspace (gradebook, other students), not
  the instructor's home; no network; its own process, IPC and hostname namespaces; a cleared environment;
- an unprivileged user: when the grader runs as root, bwrap drops every capability and the launcher
  (:mod:`helpers.grader.enter`) switches to a user id of its own (one per parallel sandbox); otherwise the
  instructor's own (unprivileged) user inside a user namespace;
- limits (:class:`Limits`): processes, memory, file size, scratch space, time (the caller's deadlines);
- ``--die-with-parent`` and a new pid namespace: when the sandbox is killed, every process it started dies.
"""
from __future__ import annotations

import fcntl
import importlib.util
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import helpers

__all__ = ["Limits", "Sandbox", "sandbox_problem", "INSTALL_HINT"]

INSTALL_HINT = ("Install bubblewrap: `sudo apt-get install bubblewrap` (Debian/Ubuntu), `sudo dnf install bubblewrap` "
                "(Fedora) or `sudo pacman -S bubblewrap` (Arch). To grade without a sandbox anyway (student code then "
                "runs with your rights, on your files), pass --no-sandbox.")

#: First user id of the sandboxes when the grader runs as root (one id per parallel sandbox).
FIRST_UID = 61000


@dataclass
class Limits:
    """Resource limits of one sandbox (README "The grading sandbox"; ``autograde --help`` sets them)."""

    memory_mb: int = 4096        #: resident memory of all its processes (cgroup, when the grader may create one)
    virtual_mb: int = 16384      #: address space of each process (RLIMIT_AS; torch reserves a lot of it)
    processes: int = 256         #: processes and threads (RLIMIT_NPROC per sandbox user, and a cgroup when possible)
    file_mb: int = 256           #: largest file it may write (RLIMIT_FSIZE)
    tmp_mb: int = 512            #: size of /tmp, /dev/shm and of the home folder (tmpfs)
    results_mb: int = 256        #: what it may leave in its writable folders, checked while it runs
    open_files: int = 1024       #: RLIMIT_NOFILE


def sandbox_problem() -> str | None:
    """Why a sandbox cannot be made here (None if it can): not Linux, no bwrap, or bwrap refuses to run."""
    if platform.system() != "Linux":
        return f"the grading sandbox needs Linux (bubblewrap); this is {platform.system()}."
    if shutil.which("bwrap") is None:
        return "bubblewrap (bwrap) is not installed."
    probe = subprocess.run(["bwrap", *_base_view(), *_namespaces(), "--", "/bin/true"], capture_output=True, text=True,
                           timeout=30)
    if probe.returncode != 0:
        return f"bwrap cannot create a sandbox here: {probe.stderr.strip()[:300]}"
    return None


def _is_root() -> bool:
    return os.geteuid() == 0


def _namespaces() -> list[str]:
    spaces = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
    if not _is_root():
        spaces.append("--unshare-user")
    return spaces


def _base_view() -> list[str]:
    """The system part of the view: /usr and the merged-/usr links, the linker cache."""
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    for name in ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime"):
        if (Path("/etc") / name).exists():
            args += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    return args


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]).resolve()


# One user id per sandbox running at the same time (root only): RLIMIT_NPROC then counts that sandbox alone. Other
# grading processes (a second autograde batch, parallel tests) take ids too: an id is held with an exclusive lock on
# its file in a root-only folder, released by close() or by the death of the process that holds it.
UID_LOCKS = Path(tempfile.gettempdir()) / "xai-grading-uids"
LAST_UID = FIRST_UID + 999
_uid_lock = threading.Lock()
_uids_in_use: dict[int, int] = {}   # uid -> file descriptor of its lock


def _take_uid() -> int:
    with _uid_lock:
        UID_LOCKS.mkdir(mode=0o700, exist_ok=True)
        if UID_LOCKS.stat().st_uid != os.geteuid() or UID_LOCKS.stat().st_mode & 0o077:
            raise RuntimeError(f"{UID_LOCKS} must belong to this user with mode 700 (it holds the sandboxes' ids)")
        for uid in range(FIRST_UID, LAST_UID + 1):
            if uid in _uids_in_use:
                continue
            fd = os.open(UID_LOCKS / str(uid), os.O_CREAT | os.O_RDWR, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            _uids_in_use[uid] = fd
            return uid
        raise RuntimeError(f"no free sandbox user id between {FIRST_UID} and {LAST_UID}")


def _release_uid(uid: int) -> None:
    with _uid_lock:
        fd = _uids_in_use.pop(uid, None)
        if fd is not None:
            os.close(fd)


@dataclass
class Sandbox:
    """One sandbox. ``folder`` (created, emptied) holds its writable folders; ``hide`` lists modules (``"captum"``,
    ``"helpers.reference"``) absent from its view; ``env`` is its whole environment besides HOME, PATH and the like.

    Use :meth:`command` to wrap a command line, :meth:`popen` to start it, :meth:`kill` and :meth:`close` after.
    """

    folder: Path
    limits: Limits = field(default_factory=Limits)
    hide: tuple[str, ...] = ()
    env: dict = field(default_factory=dict)
    readable: tuple[Path, ...] = ()   #: extra read-only paths (e.g. an input file)

    def __post_init__(self):
        self.folder = Path(self.folder)
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        self.id = uuid.uuid4().hex[:12]
        self.uid = _take_uid() if _is_root() else os.getuid()
        self.gid = self.uid if _is_root() else os.getgid()
        self.home = "/home/student"
        self.writable: list[Path] = []
        self.process: subprocess.Popen | None = None
        self._cgroups: list[Path] = []
        self._temporary: list[Path] = []
        (self.folder / "passwd").write_text(f"student:x:{self.uid}:{self.gid}:student:{self.home}:/bin/sh\n")
        (self.folder / "group").write_text(f"student:x:{self.gid}:\n")

    def make_writable(self, name: str, short: bool = False) -> Path:
        """A folder ``folder/name`` bound read-write at the same path inside the sandbox (owned by its user).

        ``short=True`` makes it a new folder under /tmp instead (removed by :meth:`close`): Unix socket paths are
        limited to 107 bytes, and the grading workspace may be deep.
        """
        if short:
            path = Path(tempfile.mkdtemp(prefix="xg-", dir="/tmp"))
            self._temporary.append(path)
        else:
            path = self.folder / name
            path.mkdir(parents=True, exist_ok=True)
        if _is_root():
            os.chown(path, self.uid, self.gid)
        path.chmod(0o700)
        self.writable.append(path)
        return path

    # -- the command line -------------------------------------------------------------------------------------------
    def _view(self) -> list[str]:
        args = _base_view()
        args += ["--ro-bind", str(self.folder / "passwd"), "/etc/passwd",
                 "--ro-bind", str(self.folder / "group"), "/etc/group"]
        # The tmpfs mounts first: the Python environment, the course and the grading workspace may lie under /tmp
        # (a clone in /tmp), and are bound over them.
        size = str(self.limits.tmp_mb * 2**20)
        args += ["--proc", "/proc", "--dev", "/dev"]
        for path in ("/tmp", "/dev/shm", self.home):
            args += ["--size", size, "--perms", "1777", "--tmpfs", path]
        prefixes = sorted({Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()}, key=lambda p: len(p.parts))
        for prefix in prefixes:
            if not str(prefix).startswith("/usr/"):
                args += ["--ro-bind", str(prefix), str(prefix)]
        for path in self._course_paths():
            args += ["--ro-bind", str(path), str(path)]
        args += self._hidden()
        for path in self.readable:
            args += ["--ro-bind", str(path), str(path)]
        for path in self.writable:
            args += ["--bind", str(path), str(path)]
        return _with_parent_dirs(args)

    @staticmethod
    def _course_paths() -> list[Path]:
        """The course package, its data included."""
        return [Path(helpers.__file__).resolve().parent]

    def _hidden(self) -> list[str]:
        """Arguments that remove the modules of ``hide`` from the view: a package folder becomes an empty tmpfs; a
        module file's folder becomes a tmpfs holding the folder's other entries."""
        args, files_by_folder = [], {}
        package = Path(helpers.__file__).resolve().parent
        for module in self.hide:
            if module == "helpers" or module.startswith("helpers."):
                target = package.joinpath(*module.split(".")[1:])
            else:
                target = _package_dir(module)
                if target is None:
                    continue
            if target.is_dir():
                args += ["--tmpfs", str(target)]
            elif target.with_suffix(".py").is_file():
                files_by_folder.setdefault(target.parent, set()).add(target.with_suffix(".py").name)
        for folder, names in files_by_folder.items():
            args += ["--tmpfs", str(folder)]
            for entry in sorted(folder.iterdir()):
                if entry.name not in names and entry.name != "__pycache__":
                    args += ["--ro-bind", str(entry), str(entry)]
        return args

    def command(self, argv: list[str], cwd: str | None = None) -> list[str]:
        """``argv`` run in the sandbox, through the launcher that applies the limits and drops privileges."""
        env = {"HOME": self.home, "USER": "student", "LOGNAME": "student", "LANG": "C.UTF-8",
               "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "TMPDIR": "/tmp",
               "MPLCONFIGDIR": "/tmp/matplotlib", "PYTHONDONTWRITEBYTECODE": "1", "XAI_OFFLINE": "1", **self.env}
        args = ["bwrap", *_namespaces(), "--die-with-parent", "--new-session", *self._view(),
                "--chdir", cwd or self.home, "--clearenv"]
        for key, value in env.items():
            args += ["--setenv", key, str(value)]
        if _is_root():
            args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        limits = self.limits
        launcher = [sys.executable, "-I", "-S", str(Path(__file__).with_name("enter.py")),
                    "--uid", str(self.uid), "--gid", str(self.gid),
                    "--nproc", str(limits.processes), "--as-mb", str(limits.virtual_mb),
                    "--fsize-mb", str(limits.file_mb), "--nofile", str(limits.open_files), "--"]
        return [*args, "--", *launcher, *argv]

    # -- running -----------------------------------------------------------------------------------------------------
    def popen(self, argv: list[str], *, stdout=None, cwd: str | None = None) -> subprocess.Popen:
        """Start ``argv`` in the sandbox (inside a memory and pids cgroup when the grader can make one)."""
        command = self.command(argv, cwd)
        wrapper = self._cgroup_wrapper()
        self.process = subprocess.Popen(wrapper + command, stdin=subprocess.DEVNULL, stdout=stdout or subprocess.DEVNULL,
                                        stderr=subprocess.STDOUT, start_new_session=True, cwd=self.folder)
        return self.process

    def _cgroup_wrapper(self) -> list[str]:
        """``sh -c 'echo $$ > .../cgroup.procs; exec "$@"'`` for a memory and a pids cgroup v1, when possible."""
        if not _is_root():
            return []
        procs = []
        for controller, settings in (("memory", {"memory.limit_in_bytes": self.limits.memory_mb * 2**20}),
                                     ("pids", {"pids.max": self.limits.processes + 16})):
            parent = _own_cgroup(controller)
            if parent is None:
                continue
            path = parent / f"xai-grading-{self.id}"
            try:
                path.mkdir()
                for name, value in settings.items():
                    (path / name).write_text(str(value))
                if controller == "memory" and (path / "memory.swappiness").exists():
                    try:
                        (path / "memory.swappiness").write_text("0")
                    except OSError:
                        pass
            except OSError:
                shutil.rmtree(path, ignore_errors=True) if path.exists() and not any(path.iterdir()) else None
                continue
            self._cgroups.append(path)
            procs.append(str(path / "cgroup.procs"))
        if not procs:
            return []
        script = "".join(f'echo $$ > "${i + 1}" && ' for i in range(len(procs))) + f'shift {len(procs)} && exec "$@"'
        return ["/bin/sh", "-c", script, "sh", *procs]

    def usage_bytes(self) -> int:
        """Bytes left in the writable folders (files only)."""
        total = 0
        for path in self.writable:
            for root, _, files in os.walk(path):
                for name in files:
                    try:
                        total += os.lstat(os.path.join(root, name)).st_size
                    except OSError:
                        pass
        return total

    def memory_exceeded(self) -> bool:
        """Whether the memory cgroup hit its limit (the kernel then killed a process of the sandbox)."""
        for path in self._cgroups:
            failcnt = path / "memory.failcnt"
            if failcnt.exists():
                try:
                    return int(failcnt.read_text() or 0) > 0 and int((path / "memory.max_usage_in_bytes").read_text()) \
                        >= self.limits.memory_mb * 2**20 * 0.98
                except (OSError, ValueError):
                    return False
        return False

    def kill(self) -> None:
        """Kill the sandbox and everything in it (bwrap's death ends its pid namespace)."""
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait()
        for path in self._cgroups:  # anything left in its cgroups (nothing should be)
            try:
                for pid in (path / "cgroup.procs").read_text().split():
                    os.kill(int(pid), signal.SIGKILL)
            except (OSError, ValueError):
                pass

    def close(self) -> None:
        """Kill, remove the cgroups, free the user id. The folder is kept (its results are read after)."""
        self.kill()
        for path in self._cgroups:
            for _ in range(50):
                try:
                    path.rmdir()
                    break
                except OSError:
                    time.sleep(0.05)
        self._cgroups = []
        for path in self._temporary:
            shutil.rmtree(path, ignore_errors=True)
        self._temporary = []
        if _is_root():
            _release_uid(self.uid)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


_ARITY = {"--ro-bind": 2, "--bind": 2, "--symlink": 2, "--chmod": 2, "--tmpfs": 1, "--proc": 1, "--dev": 1,
          "--dir": 1, "--size": 1, "--perms": 1}


def _with_parent_dirs(args: list[str]) -> list[str]:
    """``args`` with ``--perms 0755 --dir D`` before each mount for the folders above it that do not exist yet
    (bwrap, when run as root, would create them with mode 0700 and the sandbox user could not pass them)."""
    ops, index = [], 0
    while index < len(args):
        n = _ARITY.get(args[index], 0)
        ops.append(args[index:index + n + 1])
        index += n + 1
    out, mounts, created, pending = [], [], set(), []
    for op in ops:
        if op[0] in ("--size", "--perms"):
            pending += op
            continue
        if op[0] in ("--ro-bind", "--bind", "--symlink", "--tmpfs", "--proc", "--dev", "--dir"):
            destination = Path(op[-1])
            for folder in reversed(destination.parents):
                if folder == Path("/") or folder in created:
                    continue
                covering = next((m for m in reversed(mounts) if m[0] == folder or m[0] in folder.parents), None)
                if covering is not None and (covering[0] == folder or covering[1] != "--tmpfs"):
                    continue
                out += ["--perms", "0755", "--dir", str(folder)]
                created.add(folder)
            mounts.append((destination, op[0]))
            if op[0] == "--tmpfs":
                created = {c for c in created if destination not in c.parents}
        out += pending + op
        pending = []
    return out + pending


def _own_cgroup(controller: str) -> Path | None:
    """This process's cgroup v1 folder for ``controller`` if it exists and is writable."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            folder = Path("/sys/fs/cgroup") / controller / path.lstrip("/")
            if folder.is_dir() and os.access(folder, os.W_OK):
                return folder
    return None


class NoSandbox(Sandbox):
    """What ``autograde --no-sandbox`` uses instead of a :class:`Sandbox`: the same interface, no isolation.

    Student code then runs with the instructor's rights and files. The environment is still cleared, and the
    modules of ``hide`` are blocked by an import hook (:mod:`helpers.grader.unsandboxed`) instead of being absent.
    """

    def __post_init__(self):
        self.folder = Path(self.folder)
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        self.id = uuid.uuid4().hex[:12]
        self.uid, self.gid = os.getuid(), os.getgid()
        self.home = str(self.folder / "home")
        Path(self.home).mkdir()
        self.writable, self.process, self._cgroups, self._temporary = [], None, [], []

    def command(self, argv: list[str], cwd: str | None = None) -> list[str]:
        env = {"HOME": self.home, "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "LANG": "C.UTF-8",
               "MPLCONFIGDIR": str(Path(self.home) / "matplotlib"), "XAI_OFFLINE": "1", **self.env}
        if self.hide and argv[1:2] == ["-m"]:
            argv = [argv[0], "-m", "helpers.grader.unsandboxed", ",".join(self.hide), *argv[2:]]
        return ["env", "-i", *(f"{k}={v}" for k, v in env.items()), *argv]

    def _cgroup_wrapper(self) -> list[str]:
        return []
