"""The machine: its description, CPU and memory sampling, and the processes the harness starts.

Every process started here gets its own session (process group), is registered with a `Reaper`,
and is stopped by its id when the run ends, fails or is interrupted.
"""

from __future__ import annotations

import contextlib
import os
import platform
import re
import resource
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil

from bench import report


def raise_nofile() -> int:
    """Raise the soft open-files limit to the hard one (children inherit it); returns it."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def read(path: str) -> str:
    return Path(path).read_text()


def cpu_jiffies() -> tuple[int, int]:
    return report.proc_stat_cpu(read("/proc/stat"))


def overflows() -> int:
    return report.listen_overflows(read("/proc/net/netstat"))


def load_average() -> str:
    """The load average over 1, 5 and 15 minutes, as `uptime` prints it."""
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def machine() -> dict[str, Any]:
    model = "?"
    for line in read("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    os_name = platform.platform()
    with contextlib.suppress(OSError):
        found = re.search(r'^PRETTY_NAME="?([^"\n]*)', read("/etc/os-release"), re.MULTILINE)
        if found:
            os_name = found.group(1)
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "ram_gib": psutil.virtual_memory().total / 1024**3,
        "kernel": platform.release(),
        "os": os_name,
        "nofile": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
    }


def _first_line(cmd: list[str]) -> str:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    text = (done.stdout or done.stderr).strip()
    return text.splitlines()[0] if text else "?"


def versions(peer_dir: Path | None) -> dict[str, str]:
    found: dict[str, str] = {"Python": platform.python_version()}
    for dist in (
        "cloudmall",
        "fastapi",
        "starlette",
        "uvicorn",
        "uvloop",
        "httptools",
        "sqlalchemy",
        "asyncmy",
        "redis",
        "orjson",
        "pydantic",
        "locust",
        "psutil",
        "py-spy",
    ):
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[dist] = metadata.version(dist)
    found["MariaDB"] = _first_line(["mariadb", "-uroot", "-N", "-B", "-e", "SELECT VERSION()"])
    redis = _first_line(["redis-server", "--version"])
    found["Redis"] = (re.search(r"v=(\S+)", redis) or re.search(r"(\S+)", redis or "?")).group(1)
    wrk = _first_line(["wrk", "-v"])
    found["wrk"] = (re.search(r"wrk (\S+)", wrk) or re.search(r"(\S+)", wrk or "?")).group(1)
    if shutil.which("node"):
        found["Node"] = _first_line(["node", "--version"])
    if peer_dir is not None:
        package = peer_dir / "node_modules" / "express" / "package.json"
        with contextlib.suppress(OSError, ValueError):
            import json

            found["express"] = json.loads(package.read_text())["version"]
    return found


def git_state(repo: Path) -> dict[str, Any]:
    def git(*args: str) -> str:
        return _first_line(["git", "-C", str(repo), *args])

    status = subprocess.run(
        ["git", "-C", str(repo), "status", "--porcelain", "--", "src", "pyproject.toml"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return {
        "commit": git("rev-parse", "--short=12", "HEAD"),
        "branch": git("rev-parse", "--abbrev-ref", "HEAD"),
        "dirty": bool(status.strip()),
    }


def idle_check(seconds: float, exclude: Iterable[int] = ()) -> dict[str, Any]:
    """How busy the machine is before we start, and who is busy (other tenants add noise)."""
    skip = set(exclude) | {os.getpid()}
    procs = []
    for proc in psutil.process_iter(["name"]):
        if proc.pid in skip:
            continue
        with contextlib.suppress(psutil.Error):
            proc.cpu_percent(None)
            procs.append(proc)
    before = cpu_jiffies()
    time.sleep(seconds)
    after = cpu_jiffies()
    ncpu = os.cpu_count() or 1
    top = []
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            share = proc.cpu_percent(None) / ncpu
            if share >= 2:
                top.append({"name": proc.info["name"], "pid": proc.pid, "cpu": share})
    top.sort(key=lambda p: -p["cpu"])
    return {"seconds": seconds, "busy": report.busy_share(before, after), "top": top[:5]}


def wait_quiet(limit: float, *, below: float = 0.25, sample: float = 2.0) -> dict[str, Any]:
    """Wait (at most `limit` s) until the machine is less than `below` busy over `sample` s.

    Other tenants of a shared machine add noise; this lets their bursts pass, within bounds.
    """
    settled = wait_settled(limit, below=below, sample=sample)
    return {key: settled[key] for key in ("busy", "waited_s", "quiet")}


def wait_settled(
    limit: float,
    backlog: Callable[[], int] | None = None,
    *,
    below: float = 0.25,
    sample: float = 1.0,
) -> dict[str, Any]:
    """Wait (at most `limit` s) until the machine is less than `below` busy over `sample` s and
    `backlog()` (work a server still owes for requests it already answered) is 0.

    A server's background work left over from the previous run (a shop's outbox readers) would
    otherwise be measured as the next row's noise, and the shop that left it measured as if it
    had done it.
    """
    started = time.monotonic()
    while True:
        before = cpu_jiffies()
        time.sleep(sample)
        busy = report.busy_share(before, cpu_jiffies())
        left = backlog() if backlog is not None else 0
        waited = time.monotonic() - started
        quiet = busy is not None and busy < below
        # busy is None: no clock ticks to judge by, so nothing to wait for
        if busy is None or (quiet and left == 0) or waited + sample > limit:
            return {"busy": busy, "waited_s": waited, "quiet": quiet, "backlog": left}


# --- processes ------------------------------------------------------------------------------


class Reaper:
    """Stops what the harness started, newest first, on exit, failure, Ctrl-C or SIGTERM."""

    def __init__(self) -> None:
        self._stops: list[tuple[str, Callable[[], None]]] = []
        self._lock = threading.Lock()

    def add(self, name: str, stop: Callable[[], None]) -> None:
        with self._lock:
            self._stops.append((name, stop))

    def remove(self, name: str) -> None:
        with self._lock:
            self._stops = [(n, s) for n, s in self._stops if n != name]

    def stop_all(self) -> None:
        while True:
            with self._lock:
                if not self._stops:
                    return
                name, stop = self._stops.pop()
            try:
                stop()
            except Exception as exc:  # keep stopping the rest
                print(f"[bench] could not stop {name}: {exc}", flush=True)

    def install_signal_handlers(self) -> None:
        def handler(signum: int, _frame: object) -> None:
            raise KeyboardInterrupt(f"signal {signum}")

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGHUP, handler)


def stop_group(process: subprocess.Popen[Any], *, grace: float = 25) -> None:
    """SIGTERM the process group we created for `process`, then SIGKILL it after `grace` s."""
    if process.poll() is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)  # stray children of a finished leader
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def find_pids(name: str, match: str = "") -> list[int]:
    """Pids of processes called `name` whose command line contains `match`."""
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        with contextlib.suppress(psutil.Error):
            if proc.info["name"] == name and match in " ".join(proc.info["cmdline"] or []):
                found.append(proc.pid)
    return found


# --- sampling -------------------------------------------------------------------------------


@dataclass
class Sampler:
    """Samples machine CPU, CPU per named process group and RSS of chosen processes.

    groups: name → function returning the pids of that group now (looked up at each sample, so
    restarted workers are followed). rss_of: the group whose processes' RSS peaks are recorded.
    """

    groups: dict[str, Callable[[], list[int]]]
    rss_of: str | None = None
    interval: float = 1.0
    cpu_samples: list[float] = field(default_factory=list)
    rss_peak_mb: dict[int, float] = field(default_factory=dict)
    _cpu_seconds: dict[str, dict[int, float]] = field(default_factory=dict)
    _first_seconds: dict[str, dict[int, float]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _started: float = 0.0
    _elapsed: float = 0.0

    def _cpu_times(self, pids: list[int]) -> dict[int, float]:
        times = {}
        for pid in pids:
            with contextlib.suppress(psutil.Error):
                t = psutil.Process(pid).cpu_times()
                times[pid] = t.user + t.system
        return times

    def _sample(self, *, baseline: bool = False) -> None:
        for name, pids_of in self.groups.items():
            pids = pids_of()
            now = self._cpu_times(pids)
            first = self._first_seconds.setdefault(name, {})
            for pid, secs in now.items():
                # processes alive at the start count from there; later ones from their birth
                first.setdefault(pid, secs if baseline else 0.0)
            self._cpu_seconds.setdefault(name, {}).update(now)
            if name == self.rss_of:
                for pid in pids:
                    with contextlib.suppress(psutil.Error):
                        mb = psutil.Process(pid).memory_info().rss / 1024**2
                        self.rss_peak_mb[pid] = max(self.rss_peak_mb.get(pid, 0.0), mb)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.cpu_samples.append(psutil.cpu_percent(None) / 100)
            self._sample()

    def __enter__(self) -> Sampler:
        psutil.cpu_percent(None)
        self._sample(baseline=True)
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        self._sample()
        self._elapsed = time.monotonic() - self._started

    def group_share(self) -> dict[str, float]:
        """CPU used by each group over the sampled time, as a share of the whole machine."""
        ncpu = os.cpu_count() or 1
        shares = {}
        for name, last in self._cpu_seconds.items():
            first = self._first_seconds.get(name, {})
            used = sum(secs - first.get(pid, 0.0) for pid, secs in last.items())
            shares[name] = used / (self._elapsed * ncpu) if self._elapsed else 0.0
        return shares

    def cpu_mean(self) -> float | None:
        return sum(self.cpu_samples) / len(self.cpu_samples) if self.cpu_samples else None

    def cpu_peak(self) -> float | None:
        return max(self.cpu_samples) if self.cpu_samples else None
