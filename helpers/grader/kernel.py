"""Execute a notebook with a Jupyter kernel that runs inside a grading sandbox (nbclient + jupyter_client).

Only the kernel is sandboxed; this process (which never runs student code) talks to it over ZeroMQ IPC sockets in
a folder bound into the sandbox. What the notebook may cost is bounded: time per cell (after a second cell runs past
it, the run stops), time for the whole notebook, characters per output, characters of all outputs together, the
size of one kernel message, and everything :class:`~helpers.grader.sandbox.Limits` bounds inside the sandbox.
"""
from __future__ import annotations

import asyncio
import atexit
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import zmq
import zmq.asyncio
from jupyter_client import AsyncKernelManager
from jupyter_client.kernelspec import KernelSpec
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from helpers.grader.sandbox import Sandbox

__all__ = ["RunLimits", "RunOutcome", "execute_notebook"]


@dataclass
class RunLimits:
    cell_timeout: float = 300          #: seconds per cell
    notebook_timeout: float = 1800     #: seconds for the whole notebook
    output_chars: int = 20_000         #: characters kept of each text output
    output_lines: int = 1000           #: lines kept of each text output
    total_output_chars: int = 20_000_000   #: all outputs of the notebook together (images included)
    message_bytes: int = 64 * 2**20    #: largest kernel message accepted (larger ones end the connection)
    startup_timeout: float = 120


@dataclass
class RunOutcome:
    notebook: nbformat.NotebookNode
    problems: list[str] = field(default_factory=list)   #: what stopped or limited the run, for the report
    seconds: float = 0.0
    stopped: bool = False                                #: True when cells were left unexecuted
    started: bool = False                                #: False when the kernel never started (no cell ran)


class _Stop(Exception):
    """Ends the run early (output flood, repeated cell timeouts)."""


class SandboxKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel command runs in ``self.sandbox`` and talks over IPC sockets."""

    def __init__(self, sandbox: Sandbox, ipc_dir: Path, message_bytes: int, **kwargs):
        context = zmq.asyncio.Context()
        context.setsockopt(zmq.MAXMSGSIZE, message_bytes)
        super().__init__(transport="ipc", ip=str(ipc_dir / "kernel"), context=context, **kwargs)
        self.sandbox = sandbox
        self.connection_file = str(ipc_dir / "kernel.json")
        self._kernel_spec = KernelSpec(argv=["python", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                                       display_name="Python 3 (grading sandbox)", language="python",
                                       interrupt_mode="message", env={}, metadata={})

    def format_kernel_cmd(self, extra_arguments=None):
        argv = [sys.executable, "-m", "ipykernel_launcher", "-f", self.connection_file, *(extra_arguments or [])]
        return self.sandbox._cgroup_wrapper() + self.sandbox.command(argv)

    def write_connection_file(self, **kwargs):
        super().write_connection_file(**kwargs)
        if os.geteuid() == 0:
            os.chown(self.connection_file, self.sandbox.uid, self.sandbox.gid)

    def client(self, **kwargs):
        kwargs.setdefault("context", self.context)
        return super().client(**kwargs)


class _LimitedClient(NotebookClient):
    """nbclient with output caps and a stop after the second cell that runs past its time limit."""

    def __init__(self, nb, limits: RunLimits, **kwargs):
        super().__init__(nb, **kwargs)
        self.limits = limits
        self.total_chars = 0
        self.timeouts = 0
        self.truncated: set[int] = set()
        self.started = False

    async def async_start_new_kernel_client(self):
        client = await super().async_start_new_kernel_client()
        self.started = True
        return client

    def output(self, outs, msg, display_id, cell_index):
        out = super().output(outs, msg, display_id, cell_index)
        if out is None:
            return out
        if out.output_type == "stream":
            text = out.text
            received = len(text)
            lines = text.splitlines(keepends=True)
            if len(text) > self.limits.output_chars or len(lines) > self.limits.output_lines:
                kept = "".join(lines[: self.limits.output_lines])[: self.limits.output_chars]
                out.text = kept + f"\n... Output truncated (over {self.limits.output_chars} characters or " \
                                  f"{self.limits.output_lines} lines) ...\n"
                self.truncated.add(cell_index)
            size = received
        else:
            size = sum(len(value) if isinstance(value, str) else len(str(value)) for value in out.get("data", {}).values())
            size += sum(len(line) for line in out.get("traceback", []))
        self.total_chars += size
        if self.total_chars > self.limits.total_output_chars:
            raise _Stop(f"output limit: the notebook printed more than {self.limits.total_output_chars:,} characters "
                        "in all (run stopped)")
        return out

    async def _async_handle_timeout(self, timeout, cell=None):
        self.timeouts += 1
        if self.timeouts >= 2:
            raise _Stop(f"time limit: a second cell ran past {timeout:.0f} s (run stopped)")
        await super()._async_handle_timeout(timeout, cell)
        return {"content": {"status": "error", "ename": "CellTimeoutError",
                            "evalue": f"Cell execution timed out after {timeout:.0f} s and was interrupted",
                            "traceback": []}}


def execute_notebook(nb: nbformat.NotebookNode, sandbox: Sandbox, limits: RunLimits | None = None) -> RunOutcome:
    """Run every code cell of ``nb`` (in place) with a kernel inside ``sandbox``; errors do not stop the run.

    Returns the notebook with its outputs and what went wrong; never raises for what the notebook does.
    """
    limits = limits or RunLimits()
    start = time.perf_counter()
    ipc_dir = sandbox.make_writable("ipc", short=True)
    km = SandboxKernelManager(sandbox, ipc_dir, limits.message_bytes)
    client = _LimitedClient(nb, limits, km=km, timeout=int(limits.cell_timeout), interrupt_on_timeout=True,
                            allow_errors=True, startup_timeout=int(limits.startup_timeout), record_timing=False,
                            iopub_timeout=10, raise_on_iopub_timeout=False,
                            resources={"metadata": {"path": str(sandbox.folder)}})
    outcome = RunOutcome(nb)

    async def run():
        try:
            with open(sandbox.folder / "kernel.log", "wb") as log:
                await asyncio.wait_for(client.async_execute(cleanup_kc=True, stdout=log, stderr=log),
                                       timeout=limits.notebook_timeout)
        finally:
            provisioner = getattr(km, "provisioner", None)
            if provisioner is not None and getattr(provisioner, "process", None) is not None:
                sandbox.process = provisioner.process
            try:
                await asyncio.wait_for(km.shutdown_kernel(now=True), timeout=10)
            except Exception:
                pass

    try:
        asyncio.run(run())
    except asyncio.TimeoutError:
        outcome.problems.append(f"time limit: the notebook ran past {limits.notebook_timeout:.0f} s (run stopped)")
        outcome.stopped = True
    except _Stop as stop:
        outcome.problems.append(str(stop))
        outcome.stopped = True
    except DeadKernelError:
        memory = " (memory limit reached)" if sandbox.memory_exceeded() else ""
        outcome.problems.append(f"the kernel died{memory}; cells after it were not run")
        outcome.stopped = True
    except CellTimeoutError as error:
        outcome.problems.append(f"time limit: {str(error).splitlines()[0][:150]}")
        outcome.stopped = True
    except Exception as error:  # the kernel could not start, lost its connection, ...
        outcome.problems.append(f"the notebook could not be run to the end: {type(error).__name__}: "
                                f"{str(error).splitlines()[0][:200] if str(error) else ''}")
        outcome.stopped = True
    finally:
        sandbox.kill()
        km.context.destroy(linger=0)
        atexit.unregister(client._cleanup_kernel)  # nbclient leaves it registered when the start fails
    outcome.started = client.started
    outcome.problems += [f"output of cell {index} truncated" for index in sorted(client.truncated)]
    outcome.seconds = time.perf_counter() - start
    return outcome
