"""Tables and the chart of ``bench_peers``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

OPS = ("set", "get", "set_many", "get_many")


def fmt(rate: float | None) -> str:
    """An ops/s figure, compact: 1.2M, 35.1k, 812."""
    if rate is None:
        return "-"
    if rate >= 1e6:
        return f"{rate / 1e6:.2f}M"
    if rate >= 1e4:
        return f"{rate / 1e3:.1f}k"
    if rate >= 1e3:
        return f"{rate / 1e3:.2f}k"
    return f"{rate:.0f}"


def size_name(size: int) -> str:
    return f"{size // 1024} KiB" if size >= 1024 else f"{size} B"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured markdown table, aligned for reading in a terminal too."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |"]
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        cells = [
            c.rjust(w) if i >= 3 else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def peers_table(results: list[dict[str, Any]], size: int, reference: dict[str, Any]) -> str:
    """One value size: every peer's medians and its set/get ratio to the reference row."""
    headers = ["store", "durability", "n", *OPS, "set vs ref", "get vs ref"]
    rows = []
    for r in results:
        if r["size"] != size:
            continue
        rows.append(
            [
                r["label"],
                r["durability"],
                str(r["n"]),
                *(fmt(r.get(op)) for op in OPS),
                f"{r['set'] / reference['set']:.2f}x",
                f"{r['get'] / reference['get']:.2f}x",
            ]
        )
    return table(headers, rows)


def typed_table(rows: list[dict[str, Any]]) -> str:
    headers = ["pipeline", "backend", "n", *OPS]
    return table(
        headers,
        [[r["pipeline"], r["backend"], str(r["n"]), *(fmt(r.get(op)) for op in OPS)] for r in rows],
    )


def chart(
    results: list[dict[str, Any]], sizes: Sequence[int], typed: list[dict[str, Any]], path: Path
) -> None:
    """Horizontal bars of set and get ops/s (log scale), one panel per value size plus the typed one."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = len(sizes) + (1 if typed else 0)
    labels = [r["label"] for r in results if r["size"] == sizes[0]]
    height = 0.4 * len(labels) + 1.5
    fig, axes = plt.subplots(panels, 1, figsize=(10, height * panels), squeeze=False)
    for ax, size in zip(axes[:, 0], sizes, strict=False):
        rows = [r for r in results if r["size"] == size]
        _bars(ax, [r["label"] for r in rows], rows, f"{size_name(size)} values, ops/s (log scale)")
    if typed:
        ax = axes[-1, 0]
        names = [f"{r['pipeline']} on {r['backend']}" for r in typed]
        _bars(ax, names, typed, "typed 8-field records through codec pipelines, objects/s (log scale)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _bars(ax: Any, labels: list[str], rows: list[dict[str, Any]], title: str) -> None:
    positions = range(len(labels))
    ax.barh([p - 0.2 for p in positions], [r["set"] for r in rows], height=0.4, label="set")
    ax.barh([p + 0.2 for p in positions], [r["get"] for r in rows], height=0.4, label="get")
    ax.set_yticks(list(positions), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_title(title, fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(axis="x", which="major", alpha=0.3)
