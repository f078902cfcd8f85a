"""The report's figures, drawn with matplotlib and embedded in the page as inline SVG.

Every figure is drawn from counts that already went through the `Suppressor`: a bar holds the
shown (rounded) number, and a suppressed count (`≤7`) is drawn hatched at the threshold and
labelled so, never at its true height. Text stays text in the SVG (`svg.fonttype = none`), so the
page needs no font from anywhere and the numbers can be selected and read by a screen reader.
Output is deterministic (no date in the metadata, fixed id salt) so two reports of the same
database are byte-identical.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: render to files only (must precede pyplot)

import matplotlib.pyplot as plt
from matplotlib.colors import PowerNorm
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import FixedFormatter, FixedLocator, NullLocator

from pipeline.report.suppression import Shown, Suppressor

# Typed loosely: matplotlib types rc keys as a closed set of literals.
STYLE: Any = {
    "svg.fonttype": "none",
    "svg.hashsalt": "sigmd-report",
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 9,
}
BAR = "#3b6ea5"
LOW = "#c0504d"
MUTED = "#9aa5b1"
HATCH = "////"


@dataclass(frozen=True)
class Bar:
    """One bar: its label and the shown count it stands for."""

    label: str
    shown: Shown


def to_svg(fig: Figure) -> str:
    """The figure as an inline <svg> element (no XML prolog, no external reference)."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _height(shown: Shown, min_cell: int) -> float:
    return Suppressor(min_cell).value_for_plot(shown)


def _bars(ax, positions: Sequence[float], bars: Sequence[Bar], min_cell: int, **kw) -> None:
    """Horizontal bars at the shown heights; suppressed ones hatched; each labelled with its text."""
    color = kw.pop("color", BAR)
    for y, bar in zip(positions, bars, strict=True):
        width = _height(bar.shown, min_cell)
        ax.barh(
            y,
            width,
            color="white" if bar.shown.suppressed else color,
            edgecolor=color,
            hatch=HATCH if bar.shown.suppressed else None,
            **kw,
        )
        ax.annotate(
            bar.shown.text,
            (width, y),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
        )


def bar_chart(bars: Sequence[Bar], *, min_cell: int, xlabel: str) -> str:
    """A horizontal bar chart of shown counts, first bar on top."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(7, 0.3 * len(bars) + 0.8))
        positions = list(range(len(bars)))[::-1]
        _bars(ax, positions, bars, min_cell, height=0.7)
        ax.set_yticks(positions, [b.label for b in bars])
        ax.set_xlabel(xlabel)
        ax.margins(x=0.15)
        return to_svg(fig)


def paired_bar_chart(
    labels: Sequence[str],
    first: Sequence[Shown],
    second: Sequence[Shown],
    *,
    names: tuple[str, str],
    min_cell: int,
    xlabel: str,
) -> str:
    """Two bars per label (e.g. patients removed at a step, and removed by that rule alone)."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(7, 0.55 * len(labels) + 0.9))
        base = [2 * i for i in range(len(labels))][::-1]
        _bars(
            ax,
            [b + 0.4 for b in base],
            [Bar(lb, s) for lb, s in zip(labels, first, strict=True)],
            min_cell,
            height=0.8,
            color=BAR,
        )
        _bars(
            ax,
            [b - 0.4 for b in base],
            [Bar(lb, s) for lb, s in zip(labels, second, strict=True)],
            min_cell,
            height=0.8,
            color=LOW,
        )
        ax.set_yticks(base, list(labels))
        ax.set_xlabel(xlabel)
        ax.margins(x=0.15)
        from matplotlib.patches import Patch

        ax.legend(
            handles=[Patch(color=BAR, label=names[0]), Patch(color=LOW, label=names[1])],
            loc="lower right",
            frameon=False,
        )
        return to_svg(fig)


@dataclass(frozen=True)
class Panel:
    """One small histogram: a title, bin edges and, per bin, the shown counts of two groups."""

    title: str
    edges: Sequence[float]
    low: Sequence[Shown]
    not_low: Sequence[Shown]
    lower_limit: float | None


def igm_histograms(
    panels: Sequence[Panel], *, min_cell: int, complete_below: float, xlabel: str
) -> str:
    """Small multiples, one per age band: patients per IgM bin (log scale), low vs not low,
    with the band's lower limit and the complete-deficiency threshold as vertical lines."""
    columns = 3
    rows = max(1, math.ceil(len(panels) / columns))
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(rows, columns, figsize=(7.5, 1.9 * rows + 0.4), squeeze=False)
        decades = _decades(panels[0].edges) if panels else []
        for ax in axes.flat[len(panels) :]:
            ax.set_visible(False)
        for ax, panel in zip(axes.flat, panels, strict=False):
            lefts = panel.edges[:-1]
            widths = [b - a for a, b in zip(panel.edges[:-1], panel.edges[1:], strict=True)]
            for group, color, bottom_from in (
                (panel.low, LOW, None),
                (panel.not_low, MUTED, panel.low),
            ):
                bottoms = [_height(s, min_cell) for s in bottom_from] if bottom_from else None
                # One call per look (plain, hatched): far fewer artists than a bar per bin.
                for suppressed in (False, True):
                    kept = [
                        i
                        for i, shown in enumerate(group)
                        if shown.suppressed == suppressed and _height(shown, min_cell) > 0
                    ]
                    if not kept:
                        continue
                    ax.bar(
                        [lefts[i] for i in kept],
                        [_height(group[i], min_cell) for i in kept],
                        width=[widths[i] for i in kept],
                        bottom=[bottoms[i] for i in kept] if bottoms else 0,
                        align="edge",
                        color="white" if suppressed else color,
                        edgecolor=color,
                        hatch=HATCH if suppressed else None,
                        linewidth=0.6,
                    )
            ax.set_xscale("log")
            ax.set_xlim(panel.edges[0], panel.edges[-1])
            # Plain decade labels (1, 10, 100 mg/dL), no minor ticks: they cost most of the time.
            ax.xaxis.set_major_locator(FixedLocator(decades))
            ax.xaxis.set_major_formatter(FixedFormatter([f"{d:g}" for d in decades]))
            ax.xaxis.set_minor_locator(NullLocator())
            if panel.lower_limit is not None:
                ax.axvline(panel.lower_limit, color="black", linestyle="--", linewidth=0.8)
            ax.axvline(complete_below, color=LOW, linestyle=":", linewidth=0.8)
            ax.set_title(panel.title)
        fig.supxlabel(xlabel, fontsize=9)
        fig.tight_layout()
        return to_svg(fig)


def _decades(edges: Sequence[float]) -> list[float]:
    low, high = math.ceil(math.log10(edges[0])), math.floor(math.log10(edges[-1]))
    return [10.0**k for k in range(low, high + 1)]


def binned_bars(
    labels: Sequence[str],
    groups: Mapping[str, Sequence[Shown]],
    *,
    min_cell: int,
    ylabel: str,
) -> str:
    """Vertical grouped bars: one group of bars per label, one bar per series (e.g. status)."""
    palette = [BAR, LOW, MUTED, "#6a9f58", "#e39c37"]
    n = max(1, len(groups))
    width = 0.8 / n
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(7.5, 2.8))
        for k, (name, shown) in enumerate(groups.items()):
            color = palette[k % len(palette)]
            for i, s in enumerate(shown):
                x = i - 0.4 + width * (k + 0.5)
                h = _height(s, min_cell)
                ax.bar(
                    x,
                    h,
                    width=width,
                    color="white" if s.suppressed else color,
                    edgecolor=color,
                    hatch=HATCH if s.suppressed else None,
                    label=name if i == 0 else None,
                )
                if h:
                    ax.annotate(
                        s.text,
                        (x, h),
                        xytext=(0, 2),
                        textcoords="offset points",
                        ha="center",
                        fontsize=7,
                    )
        ax.set_xticks(range(len(labels)), list(labels))
        ax.set_ylabel(ylabel)
        ax.legend(frameon=False, fontsize=8)
        ax.margins(y=0.15)
        return to_svg(fig)


def heatmap(
    rows: Sequence[str],
    columns: Sequence[str],
    cells: Sequence[Sequence[Shown]],
    *,
    min_cell: int,
    colorbar_label: str,
) -> str:
    """A grid of shown counts (rows x columns), each cell coloured by its shown number and
    labelled with its text; a suppressed cell is coloured as the threshold and hatched."""
    values = [[_height(c, min_cell) for c in row] for row in cells]
    top = max((v for row in values for v in row), default=0.0)
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(7.5, 0.32 * len(rows) + 1.2))
        # A square-root scale, so the small bands stay visible next to the adult one.
        image = ax.imshow(values, cmap="Blues", aspect="auto", norm=PowerNorm(0.5, vmin=0))
        for i, row in enumerate(cells):
            for j, shown in enumerate(row):
                if shown.suppressed:
                    ax.add_patch(
                        Rectangle(
                            (j - 0.5, i - 0.5),
                            1,
                            1,
                            fill=False,
                            hatch="//",
                            edgecolor="#c5ccd4",
                            linewidth=0,
                        )
                    )
                dark = top > 0 and math.sqrt(values[i][j] / top) > 0.6
                ax.text(
                    j, i, shown.text, ha="center", va="center", fontsize=7,
                    color="white" if dark else "black",
                )  # fmt: skip
        ax.set_xticks(range(len(columns)), list(columns), rotation=45, ha="right")
        ax.set_yticks(range(len(rows)), list(rows))
        ax.set_ylabel("remaining after step")
        ax.spines[:].set_visible(False)
        fig.colorbar(image, ax=ax, label=colorbar_label, shrink=0.8)
        return to_svg(fig)
