"""The audit report as a terminal table, Markdown (docs/security.md) or JSON."""

from __future__ import annotations

import json
from dataclasses import asdict

from rich.console import Console
from rich.table import Table

from cloudmall.audit.model import AuditReport, ItemResult, Status

SHOWN_RESOURCES = 4
STATUS_STYLE = {
    Status.met: "green",
    Status.account_level: "cyan",
    Status.not_applicable: "dim",
    Status.exempt: "yellow",
    Status.not_met: "bold red",
}


def _details(item: ItemResult) -> list[str]:
    """The reasons, then the resources that meet the item (a few, and how many more)."""
    lines = list(item.reasons)
    resources = list(item.resources[:SHOWN_RESOURCES])
    if len(item.resources) > SHOWN_RESOURCES:
        resources.append(f"… and {len(item.resources) - SHOWN_RESOURCES} more")
    return lines + resources


def summary(report: AuditReport) -> str:
    if report.passed:
        return (
            f"{len(report.stacks)} stack(s): every checklist item met, account-level and covered, "
            "exempt or not applicable"
        )
    return f"{report.not_met_count} checklist item(s) not met across {len(report.stacks)} stack(s)"


def print_table(report: AuditReport, console: Console) -> None:
    for stack in report.stacks:
        table = Table(
            title=f"{stack.stack}" + (f" (pattern: {stack.pattern})" if stack.pattern else ""),
            title_justify="left",
        )
        table.add_column("Group")
        table.add_column("Item")
        table.add_column("Status")
        table.add_column("Resources / reason", overflow="fold")
        for item in stack.items:
            style = STATUS_STYLE[item.status]
            table.add_row(
                item.group.value,
                f"{item.guide_item}\n[dim]{item.title}[/]",
                f"[{style}]{item.status.value}[/]",
                "\n".join(_details(item)),
            )
        console.print(table)
    console.print(summary(report))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(report: AuditReport) -> str:
    lines = ["| Group | Item | " + " | ".join(s.stack for s in report.stacks) + " |"]
    lines.append("|---|---|" + "---|" * len(report.stacks))
    if report.stacks:
        for index, item in enumerate(report.stacks[0].items):
            statuses = [s.items[index].status.value for s in report.stacks]
            lines.append(
                f"| {item.group.value} | {item.guide_item} | " + " | ".join(statuses) + " |"
            )
    for stack in report.stacks:
        heading = stack.stack + (f" (pattern: {stack.pattern})" if stack.pattern else "")
        lines += ["", f"### {heading}", ""]
        lines.append("| Group | Item | Status | Resources / reason |")
        lines.append("|---|---|---|---|")
        for item in stack.items:
            details = "<br>".join(_cell(d) for d in _details(item))
            lines.append(
                f"| {item.group.value} | {_cell(item.guide_item)}: {_cell(item.title)} "
                f"| {item.status.value} | {details} |"
            )
    lines += ["", summary(report), ""]
    return "\n".join(lines)


def to_json(report: AuditReport) -> str:
    return json.dumps(
        {
            "passed": report.passed,
            "not_met": report.not_met_count,
            "stacks": [asdict(stack) for stack in report.stacks],
        },
        ensure_ascii=False,
        indent=2,
    )
