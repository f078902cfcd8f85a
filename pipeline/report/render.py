"""Render the analyst report: one self-contained HTML file from a published cohort database.

The page is built from Jinja2 templates (`templates/`), with every style inline and every
figure an inline SVG, so it opens offline in any browser and prints cleanly: nothing is loaded
from the network, no script runs. The file is written beside its target and moved onto it, so a
reader never sees half a report.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from pipeline.errors import PublishError
from pipeline.report.data import ReportData, read_report_data
from pipeline.report.labels import igm_bands, load_descriptions
from pipeline.report.sections import SECTIONS, Context, Section
from pipeline.report.suppression import DEFAULT_MIN_CELL, Suppressor


@dataclass(frozen=True)
class Rendered:
    path: Path
    sections: list[Section]


def environment() -> Environment:
    return Environment(
        loader=PackageLoader("pipeline.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def build_sections(data: ReportData, suppress: Suppressor) -> list[Section]:
    ctx = Context(suppress, load_descriptions(), igm_bands(data.criteria))
    return [build(data, ctx) for build in SECTIONS]


def render_html(data: ReportData, suppress: Suppressor, *, db_name: str) -> str:
    sections = build_sections(data, suppress)
    template = environment().get_template("report.html.j2")
    return template.render(
        sections=sections,
        run=data.run,
        db_name=db_name,
        suppress=suppress,
        generated_from=_format_time(data.run.get("finished_at")),
    )


def write_report(
    db_path: Path | str,
    out_path: Path | str,
    *,
    min_cell: int = DEFAULT_MIN_CELL,
    suppression: bool = True,
) -> Path:
    """Read `db_path`, render the report and write it to `out_path` atomically."""
    data = read_report_data(db_path)
    html = render_html(
        data, Suppressor(min_cell=min_cell, enabled=suppression), db_name=Path(db_path).name
    )
    target = Path(out_path)
    staging = target.with_name(f".{target.name}.writing-{os.getpid()}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging.write_text(html, encoding="utf-8")
        os.replace(staging, target)
    except OSError as exc:
        staging.unlink(missing_ok=True)
        raise PublishError(
            f"could not write the report ({type(exc).__name__})", file=str(target)
        ) from None
    return target


def _format_time(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "unknown"
