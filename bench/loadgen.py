"""Load generators: wrk with the peer's bench.sh method, and locust headless."""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import report, system
from bench.services import log

LUA_DIR = Path(__file__).with_name("lua")


@dataclass(frozen=True)
class WrkMethod:
    """bench.sh's settings: -t1, warm-up (discarded), pause, measured run with --latency."""

    duration: str = "30s"
    warmup: str = "5s"
    pause: float = 5
    timeout: str = "2s"
    threads: int = 1


def wrk_command(
    method: WrkMethod,
    url: str,
    conns: int,
    duration: str,
    *,
    latency: bool,
    lua: Path | None = None,
    lua_args: list[str] | None = None,
) -> list[str]:
    cmd = ["wrk", f"-t{min(method.threads, conns)}", f"-c{conns}", f"-d{duration}"]
    cmd += ["--timeout", method.timeout]
    if latency:
        cmd.append("--latency")
    if lua is not None:
        cmd += ["-s", str(lua)]
    cmd.append(report.require_loopback(url))
    if lua_args:
        cmd += ["--", *lua_args]
    return cmd


def _seconds(duration: str) -> float:
    return report.duration_ms(duration) / 1000


def _run_wrk(cmd: list[str], limit: float) -> tuple[str, float, float]:
    """Run wrk; returns (output, wall seconds, wrk's user+sys CPU seconds)."""
    started = time.monotonic()
    process = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    killer = threading.Timer(limit, lambda: os.killpg(process.pid, signal.SIGKILL))
    killer.start()
    try:
        assert process.stdout is not None
        output = process.stdout.read().decode(errors="replace")
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    except BaseException:
        system.stop_group(process, grace=2)
        raise
    finally:
        killer.cancel()
    wall = time.monotonic() - started
    if process.returncode != 0:
        raise RuntimeError(f"wrk exited {process.returncode}: {' '.join(cmd)}\n{output[-2000:]}")
    return output, wall, usage.ru_utime + usage.ru_stime


def measure(
    method: WrkMethod,
    url: str,
    conns: int,
    *,
    lua: Path | None = None,
    lua_args: Callable[[str], list[str]] | None = None,
    server_pids: Callable[[], list[int]],
    rss_pids: Callable[[], list[int]] | None = None,
    raw_dir: Path,
    name: str,
    settle: Callable[[], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """One bench.sh row: warm-up, pause, measured run; wrk figures plus CPU and overflows.

    `settle`, if given, runs between the warm-up and the pause (system.wait_settled: until the
    machine is quiet and the servers owe no background work); what it found goes in the row."""
    raw_dir.mkdir(parents=True, exist_ok=True)
    warm_cmd = wrk_command(
        method, url, conns, method.warmup, latency=False, lua=lua,
        lua_args=lua_args("warm") if lua_args else None,
    )  # fmt: skip
    run_cmd = wrk_command(
        method, url, conns, method.duration, latency=True, lua=lua,
        lua_args=lua_args("run") if lua_args else None,
    )  # fmt: skip
    log(f"{name}: warm-up {method.warmup}, pause {method.pause:g} s, run {method.duration}")
    warm_out, _, _ = _run_wrk(warm_cmd, _seconds(method.warmup) + 60)
    (raw_dir / f"{name}-warmup.txt").write_text(warm_out)
    settled = settle() if settle is not None else None
    if settled is not None:
        log(
            f"{name}: waited {settled['waited_s']:.0f} s to settle: machine "
            f"{report.fmt_pct(settled['busy'])} busy, backlog {settled['backlog']:,}"
        )
    p0 = system.cpu_jiffies()
    time.sleep(method.pause)
    background = report.busy_share(p0, system.cpu_jiffies())
    groups = {"server": server_pids, **({"workers": rss_pids} if rss_pids else {})}
    sampler = system.Sampler(groups, rss_of="workers" if rss_pids else None)
    o0, c0 = system.overflows(), system.cpu_jiffies()
    with sampler:
        output, wall, wrk_cpu = _run_wrk(run_cmd, _seconds(method.duration) + 60)
    o1, c1 = system.overflows(), system.cpu_jiffies()
    (raw_dir / f"{name}.txt").write_text(output)
    parsed = report.parse_wrk(output)
    warm_status = None
    with contextlib.suppress(ValueError):
        warm_status = report.parse_wrk(warm_out).status
    row = {
        "name": name,
        "url": url,
        "conns": conns,
        "wrk": parsed.as_dict(),
        "warmup_status": warm_status,
        "cpu_busy": report.busy_share(c0, c1),
        "pause_busy": background,
        "settle": settled,
        "server_cpu": sampler.group_share().get("server"),
        "wrk_cpu": wrk_cpu / wall if wall else None,
        "listen_overflows": o1 - o0,
        "worker_peak_rss_mb": sorted(sampler.rss_peak_mb.values(), reverse=True),
        "command": shlex.join(run_cmd),
        "warmup_command": shlex.join(warm_cmd),
    }
    log(
        f"{name}: {parsed.rps:,.0f} req/s, p50 {report.fmt_ms(parsed.p50_ms)}, "
        f"p99 {report.fmt_ms(parsed.p99_ms)}, errors {parsed.errors}"
        + (f", status {parsed.status}" if parsed.status else "")
    )
    return row


# --- locust ---------------------------------------------------------------------------------


def locust_command(
    host: str,
    *,
    users: int,
    spawn_rate: float,
    run_time: int,
    csv_prefix: Path,
    processes: int = 1,
    locust: str = "locust",
) -> list[str]:
    cmd = [
        locust,
        "-f", str(Path(__file__).with_name("locustfile.py")),
        "--headless",
        "--host", report.require_loopback(host),
        "--users", str(users),
        "--spawn-rate", f"{spawn_rate:g}",
        "--run-time", f"{run_time}s",
        "--stop-timeout", "10",
        "--reset-stats",
        "--csv", str(csv_prefix),
        "--only-summary",
        "--loglevel", "WARNING",
    ]  # fmt: skip
    if processes > 1:
        cmd += ["--processes", str(processes)]
    return cmd
