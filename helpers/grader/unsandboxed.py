"""``python -m helpers.grader.unsandboxed MODULES MODULE [ARGS...]``: run ``python -m MODULE ARGS`` with the
comma-separated ``MODULES`` blocked from import. Used only by ``autograde --no-sandbox`` for the from-scratch runs,
where no sandbox can remove them from the view (a weaker guarantee: README, "The grading sandbox")."""
import importlib.abc
import runpy
import sys


class _Blocker(importlib.abc.MetaPathFinder):
    def __init__(self, names):
        self.names = names

    def find_spec(self, fullname, path=None, target=None):
        if any(fullname == name or fullname.startswith(name + ".") for name in self.names):
            raise ModuleNotFoundError(f"No module named {fullname!r} (not available in from-scratch grading)",
                                      name=fullname)
        return None


def main() -> None:
    names = [name for name in sys.argv[1].split(",") if name]
    module, args = sys.argv[2], sys.argv[3:]
    sys.meta_path.insert(0, _Blocker(names))
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
