"""The first program run inside a grading sandbox (standard library only; run with ``python -I -S``).

``enter.py --uid U --gid G --nproc N --as-mb M --fsize-mb F --nofile K -- COMMAND...`` sets the resource limits,
switches to the unprivileged user U (when started as root, which bwrap allows with CAP_SETUID/CAP_SETGID only)
and replaces itself with COMMAND. Nothing of the student's has run yet when it does this.
"""
import argparse
import os
import resource
import sys


def count_tasks(uid: int) -> int:
    """Processes and threads of ``uid`` visible here (RLIMIT_NPROC counts them all)."""
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/status") as f:
                    fields = dict(line.split(":", 1) for line in f if ":" in line)
                if int(fields["Uid"].split()[0]) == uid:
                    count += int(fields.get("Threads", "1").strip())
            except (OSError, KeyError, ValueError):
                pass
    return count


def main() -> None:
    parser = argparse.ArgumentParser()
    for name in ("--uid", "--gid", "--nproc", "--as-mb", "--fsize-mb", "--nofile"):
        parser.add_argument(name, type=int, required=True)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        sys.exit("enter.py: no command")
    mb = 2**20
    nproc = args.nproc if os.geteuid() == 0 else count_tasks(os.getuid()) + args.nproc
    for limit, value in ((resource.RLIMIT_NPROC, nproc), (resource.RLIMIT_AS, args.as_mb * mb),
                         (resource.RLIMIT_FSIZE, args.fsize_mb * mb), (resource.RLIMIT_NOFILE, args.nofile),
                         (resource.RLIMIT_CORE, 0)):
        resource.setrlimit(limit, (value, value))
    if os.geteuid() == 0:
        os.setgroups([])
        os.setgid(args.gid)
        os.setuid(args.uid)
        if os.geteuid() == 0 or os.getuid() == 0:
            sys.exit("enter.py: could not drop root")
    os.execvp(command[0], command)


if __name__ == "__main__":
    main()
