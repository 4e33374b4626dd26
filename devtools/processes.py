"""The one way devtools runs a long-lived child process (a server, a service, a benchmark).

A :class:`ChildProcess` runs in a process group of its own, its stdout and stderr going
to one log file (appended to, a banner per start) or to a pipe its owner reads. It is
waited for on a readiness probe, stopped with SIGTERM to the whole group and SIGKILL
after a grace period, and reaped. Children still running when this interpreter exits
are stopped; on Linux, started from the main thread, they also get SIGTERM if it dies
abruptly.

One-shot commands whose output is the point (Maven, ``go build``, ``docker info``) are
``subprocess.run``, not this.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from typing import IO

from devtools import REPO_ROOT

KILL_WAIT_S = 10.0  # for the kernel to end a SIGKILLed group
READY_POLL_S = 0.1


class StartError(RuntimeError):
    """A child exited, or was not ready in time, while starting; the message ends with
    its log tail."""


_live: set[ChildProcess] = set()
_live_lock = threading.Lock()


@atexit.register
def _stop_all_at_exit() -> None:
    with _live_lock:
        children = list(_live)
    for child in children:
        if child.alive():  # a child that died earlier is not swept: its group id may be reused
            with contextlib.suppress(Exception):
                child.stop()


def _die_with_parent_hook() -> Callable[[], None] | None:
    """A preexec_fn asking Linux to SIGTERM the child when this process dies.

    PR_SET_DEATHSIG fires when the *thread* that forked exits, so it is only used when
    starting from the main thread (which lives as long as the process).
    """
    if not sys.platform.startswith("linux") or threading.current_thread() is not (
        threading.main_thread()
    ):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_deathsig = 1
    sigterm = int(signal.SIGTERM)

    def hook() -> None:
        prctl(pr_set_deathsig, sigterm, 0, 0, 0)

    return hook


class ChildProcess:
    """``argv`` run as a child of its own process group.

    ``log_path`` is the file that receives its stdout and stderr (appended to, with a
    ``===== start #n =====`` line before each start), or None for a pipe read from
    :attr:`stdout`. ``proc`` is the running (or last) :class:`subprocess.Popen`.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_path: Path | None,
        env: Mapping[str, str] | None = None,
        cwd: Path = REPO_ROOT,
        stop_timeout: float = 25.0,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self._log_path = log_path
        self.env = dict(env if env is not None else os.environ)
        self.cwd = cwd
        self.stop_timeout = stop_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.started_at = 0.0  # time.monotonic() of the last start
        self._swept = True  # the group of the last start is known to be gone

    # -- starting
    def start(self) -> None:
        """Launch the process (again, if it ran before); no-op while it runs."""
        if self.alive():
            return
        self.starts += 1
        with contextlib.ExitStack() as files:
            stdout: IO[bytes] | int = subprocess.PIPE
            if self._log_path is not None:
                self._log_path.parent.mkdir(parents=True, exist_ok=True)
                stdout = files.enter_context(self._log_path.open("ab"))
                stdout.write(f"\n===== start #{self.starts} =====\n".encode())
                stdout.flush()
            self.proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=subprocess.STDOUT,
                cwd=self.cwd,
                env=self.env,
                start_new_session=True,  # own session => own process group
                preexec_fn=_die_with_parent_hook(),
            )
        self.started_at = time.monotonic()
        self._swept = False
        with _live_lock:
            _live.add(self)

    def wait_ready(
        self, ready: Callable[[], bool], timeout: float, tail: Callable[[], str] | None = None
    ) -> float:
        """Poll ``ready`` until it is true, ``timeout`` seconds at most after the start;
        the seconds since the start. When the process exits first or the time is up it
        is stopped and :class:`StartError` says why, with ``tail()`` (by default the
        tail of its output)."""
        tail = tail or self.log_tail
        proc = self.proc
        if proc is None:
            raise StartError(f"{self.name} was not started")
        deadline = self.started_at + timeout
        try:
            while True:
                code = proc.poll()
                if code is not None:
                    raise StartError(
                        f"{self.name} exited with code {code} during start-up\n{tail()}"
                    )
                if ready():
                    return time.monotonic() - self.started_at
                if time.monotonic() > deadline:
                    raise StartError(f"{self.name} not ready after {timeout:.0f}s\n{tail()}")
                time.sleep(READY_POLL_S)
        except BaseException:
            self.stop()
            raise

    # -- state
    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    @property
    def log_path(self) -> Path:
        """The file its output goes to (ValueError for a child whose output is piped)."""
        if self._log_path is None:
            raise ValueError(f"{self.name}'s output goes to a pipe, not a file")
        return self._log_path

    @property
    def stdout(self) -> IO[bytes]:
        """The pipe of a child started with ``log_path=None``."""
        assert self.proc is not None and self.proc.stdout is not None
        return self.proc.stdout

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def returncode(self) -> int | None:
        """The exit status (negative: the signal that ended it); None while it runs."""
        return self.proc.poll() if self.proc is not None else None

    def wait(self, timeout: float | None = None) -> int:
        """Until the process exits by itself; its status (TimeoutExpired after ``timeout``)."""
        assert self.proc is not None
        return self.proc.wait(timeout)

    async def output_lines(self) -> AsyncIterator[bytes]:
        """The lines of a piped child's output as they come, without blocking the loop,
        until it closes its end."""
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), self.stdout
        )
        try:
            async for line in reader:
                yield line
        finally:
            transport.close()

    async def exited(self) -> int:
        """Wait, without blocking the event loop, until the process exits; its status."""
        proc = self.proc
        assert proc is not None
        if (code := proc.poll()) is not None:
            return code
        loop = asyncio.get_running_loop()
        # A pidfd becomes readable when the process exits (Linux 5.3+): no thread, no poll.
        fd = os.pidfd_open(proc.pid)
        try:
            gone: asyncio.Future[None] = loop.create_future()

            def readable() -> None:
                if not gone.done():
                    gone.set_result(None)

            loop.add_reader(fd, readable)
            try:
                await gone
            finally:
                loop.remove_reader(fd)
        finally:
            os.close(fd)
        return proc.wait()

    def log_tail(self, lines: int = 60) -> str:
        if self._log_path is None:
            return ""
        try:
            data = self._log_path.read_bytes()[-64 * 1024 :].decode("utf-8", "replace")
        except OSError:
            return ""
        return "\n".join(data.splitlines()[-lines:])

    # -- stopping
    def signal(self, sig: signal.Signals) -> None:
        """Send ``sig`` to the whole process group (to the child alone if not allowed)."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass
        except PermissionError:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(sig)

    def terminate(self) -> None:
        """SIGTERM without waiting; :meth:`stop` then waits (and insists)."""
        if self.alive():
            self.signal(signal.SIGTERM)

    def kill(self) -> int | None:
        """SIGKILL the group at once, as a crash; the exit status."""
        if self.proc is None:
            return None
        try:
            if not self._swept:
                self.signal(signal.SIGKILL)
            return self.proc.wait(KILL_WAIT_S)
        finally:
            self._forget()

    def stop(self, timeout: float | None = None) -> int | None:
        """SIGTERM the group, SIGKILL it after ``timeout`` (default ``stop_timeout``)
        seconds; the exit status, None if it never started."""
        proc = self.proc
        if proc is None:
            return None
        try:
            if proc.poll() is None:
                self.signal(signal.SIGTERM)
                try:
                    return proc.wait(self.stop_timeout if timeout is None else timeout)
                except subprocess.TimeoutExpired:
                    self.signal(signal.SIGKILL)
                    return proc.wait(KILL_WAIT_S)
            if not self._swept:  # the leader is gone: make sure nothing it spawned survives
                self.signal(signal.SIGKILL)
            return proc.returncode
        finally:
            self._forget()

    def _forget(self) -> None:
        self._swept = True  # never signal the group again: its id may be reused
        with _live_lock:
            _live.discard(self)

    def __repr__(self) -> str:
        return f"<ChildProcess {self.name} pid={self.pid}>"
