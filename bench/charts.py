"""PNG charts for docs/benchmarks.md (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

from bench import report

matplotlib.use("Agg")
import matplotlib.pyplot as plt

COLOURS = {"cloudmall-uvicorn": "#2b6cb0", "cloudmall-granian": "#2f855a", "express": "#c05621"}
NAMES = report.SERVER_NAMES
VARIANTS = {"list": "GET list", "etag": "GET, ETag 304", "order": "POST order"}


def _bars(ax: Any, groups: list[str], series: dict[str, list[float | None]], ylabel: str) -> None:
    width = 0.8 / max(1, len(series))
    for i, (name, values) in enumerate(series.items()):
        xs = [g + (i - (len(series) - 1) / 2) * width for g in range(len(groups))]
        heights = [v or 0 for v in values]
        bars = ax.bar(xs, heights, width, label=NAMES.get(name, name), color=COLOURS.get(name))
        for bar, value in zip(bars, values, strict=True):
            if value is not None:
                label = f"{value:,.0f}" if value >= 10 else f"{value:.1f}"
                ax.annotate(
                    label,
                    (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center",
                    va="bottom",
                    fontsize=8,
                )
    tallest = max((v or 0 for values in series.values() for v in values), default=0)
    if tallest:
        ax.set_ylim(0, tallest * 1.25)  # room for the labels and the legend
    ax.set_xticks(range(len(groups)), groups)
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)


def _wrk_chart(rows: list[dict[str, Any]], title: str, path: Path) -> None:
    order = list(VARIANTS)
    groups = sorted(
        {(r["variant"], r["conns"]) for r in rows}, key=lambda g: (order.index(g[0]), g[1])
    )
    labels = [f"{VARIANTS[variant]}\n{conns:,} conns" for variant, conns in groups]
    servers = [s for s in COLOURS if any(r["server"] == s for r in rows)]

    def value(server: str, group: tuple[str, int], key: str) -> float | None:
        row = report.median_row(rows, server=server, variant=group[0], conns=group[1])
        return None if row is None else row["wrk"][key]

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    _bars(left, labels, {s: [value(s, g, "rps") for g in groups] for s in servers}, "requests/s")
    left.set_title("throughput (higher is better)")
    latency: dict[str, list[float | None]] = {}
    for s in servers:
        latency[f"{NAMES[s]} p50"] = [value(s, g, "p50_ms") for g in groups]
        latency[f"{NAMES[s]} p99"] = [value(s, g, "p99_ms") for g in groups]
    _bars(right, labels, latency, "ms")
    for patch_group, colour in zip(right.containers, _latency_colours(servers), strict=False):
        for patch in patch_group:
            patch.set_color(colour)
    right.legend(fontsize=8)
    right.set_title("latency p50 / p99 (lower is better)")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _latency_colours(servers: list[str]) -> list[str]:
    shades = {
        "cloudmall-uvicorn": ("#63b3ed", "#2c5282"),
        "cloudmall-granian": ("#68d391", "#276749"),
        "express": ("#f6ad55", "#9c4221"),
    }
    out: list[str] = []
    for s in servers:
        out += list(shades.get(s, ("#999999", "#555555")))
    return out


def _users_chart(users: dict[str, Any], path: Path) -> None:
    rows = [r for r in users["stats"] if r["requests"]]
    names = [("overall" if r["name"] == "Aggregated" else f"{r['type']} {r['name']}") for r in rows]
    fig, ax = plt.subplots(figsize=(11, 0.45 * len(rows) + 1.6))
    ys = range(len(rows))
    height = 0.27
    for offset, key, colour in ((-height, "p50_ms", "#90cdf4"), (0, "p95_ms", "#3182ce"),
                                (height, "p99_ms", "#1a365d")):  # fmt: skip
        ax.barh(
            [y + offset for y in ys],
            [r[key] or 0 for r in rows],
            height,
            label=key.removesuffix("_ms"),
            color=colour,
        )
    ax.axvline(100, color="#c53030", linestyle="--", linewidth=1, label="100 ms (p95 target)")
    ax.set_yticks(list(ys), names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("ms")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=8)
    agg = next((r for r in rows if r["name"] == "Aggregated"), None)
    rate = f", {agg['rps']:,.0f} req/s overall" if agg and agg["rps"] else ""
    ax.set_title(f"{users['users']:,} users (locust): latency per request type{rate}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _scaling_chart(rows: list[dict[str, Any]], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6, 4))
    labels = [f"{r['workers']} worker{'s' if r['workers'] > 1 else ''}" for r in rows]
    _bars(ax, labels, {"cloudmall-uvicorn": [r["wrk"]["rps"] for r in rows]}, "requests/s")
    ax.set_title("catalogue, 100 connections: workers")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def draw(results: dict[str, Any], folder: Path, link_prefix: str) -> dict[str, str]:
    """Draw what was measured; returns {chart key: Markdown link}."""
    folder.mkdir(parents=True, exist_ok=True)
    made: dict[str, str] = {}
    if results.get("catalogue"):
        _wrk_chart(results["catalogue"], "GET /api/products", folder / "catalogue.png")
        made["catalogue"] = f"{link_prefix}catalogue.png"
    if results.get("order"):
        _wrk_chart(results["order"], "POST /api/orders, 100 connections", folder / "order.png")
        made["order"] = f"{link_prefix}order.png"
    if results.get("users") and results["users"].get("stats"):
        _users_chart(results["users"], folder / "users.png")
        made["users"] = f"{link_prefix}users.png"
    if results.get("scaling"):
        _scaling_chart(results["scaling"], folder / "scaling.png")
        made["scaling"] = f"{link_prefix}scaling.png"
    return made
