"""`sigmd report` on the planted-cases extract: every section there, nothing from the network,
no patient id, and only suppressed counts (≤7, or multiples of 5 at or above the threshold),
with every difference consistent with the numbers shown."""

from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest

from pipeline.cli import main
from pipeline.publish.publish import publish
from pipeline.report.render import write_report
from pipeline.report.sections import SECTIONS
from pipeline.run.engine import screen_extract
from pipeline.synth import generate_extract

pytestmark = pytest.mark.integration

SECTION_IDS = (
    "funnel",
    "gains",
    "demographics",
    "igm",
    "causes",
    "repeat",
    "since",
    "accounting",
    "provenance",
)


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("report")
    generate_extract(folder / "extract", 400, seed=5)
    result = screen_extract(folder / "extract", suites=False)
    db_path = folder / "sigmd.duckdb"
    publish(result, db_path)
    return db_path


class Page(HTMLParser):
    """The parts of the report a test looks at: links, sections, captions, shown numbers."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.sections: list[str] = []
        self.captions: dict[str, str] = {}
        self.counts: list[str] = []  # class n: a suppressed count
        self.diffs: list[str] = []  # class d: a difference of shown counts
        self.rows: dict[str, list[list[tuple[str, str]]]] = {}  # table class -> cells (class, text)
        self._open: list[str] = []
        self._section = ""
        self._table = ""
        self._text: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("src", "href", "xlink:href", "action", "data"):
            if a.get(key):
                self.urls.append(a[key])
        if tag == "section":
            self._section = a.get("id", "")
            self.sections.append(self._section)
        if tag == "table":
            self._table = a.get("class") or f"{self._section}-{len(self.rows)}"
            self.rows.setdefault(self._table, [])
        if tag == "tr" and self._table:
            self.rows[self._table].append([])
        classes = (a.get("class") or "").split()
        kind = (
            "n"
            if "n" in classes
            else "d"
            if "d" in classes
            else "caption"
            if "caption" in classes
            else ""
        )
        self._open.append(kind)
        if kind:
            self._text = []

    def handle_endtag(self, tag):
        kind = self._open.pop() if self._open else ""
        text = "".join(self._text).strip()
        if kind == "n":
            self.counts.append(text)
        elif kind == "d":
            self.diffs.append(text)
        elif kind == "caption" and self._section not in self.captions:
            self.captions[self._section] = text
        if kind in ("n", "d") and self._table and self.rows[self._table]:
            self.rows[self._table][-1].append((kind, text))
        if tag == "table":
            self._table = ""

    def handle_data(self, data):
        self._text.append(data)
        self.text.append(data)


@pytest.fixture(scope="module")
def shown(db, tmp_path_factory) -> tuple[str, Page]:
    """The report with the default suppression, rendered once for the module."""
    return parse(write_report(db, tmp_path_factory.mktemp("out") / "report.html"))


def parse(path: Path) -> tuple[str, Page]:
    html = path.read_text(encoding="utf-8")
    page = Page()
    page.feed(html)
    return html, page


def number(text: str) -> int:
    return int(text.replace(",", ""))


def test_report_has_every_section_each_with_a_one_sentence_caption(shown):
    html, page = shown
    assert page.sections == list(SECTION_IDS)
    assert len(SECTIONS) == len(SECTION_IDS)
    for section in SECTION_IDS:
        caption = page.captions[section]
        assert caption.endswith("."), section
        assert caption.count(". ") == 0, f"{section}: more than one sentence"
    assert html.count("<svg") == 5  # gains, age bands, IgM, causes, repeat tests: inline SVG


def test_report_loads_nothing_from_the_network(shown):
    html, page = shown
    # Only the page's own anchors and data embedded in it (the heat map's raster).
    assert all(url.startswith(("#", "data:image/")) for url in page.urls), page.urls
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:|//)", html, re.IGNORECASE)
    # SVG fills and clip paths refer to their own definitions (url(#id)), never further.
    assert all(u.startswith("#") for u in re.findall(r"url\(\s*['\"]?([^)'\"]*)", html))
    assert not re.search(r"@import|<script|<link|<iframe|<object", html, re.IGNORECASE)


def test_report_shows_no_patient_id(db, shown):
    html, _ = shown
    with duckdb.connect(str(db), read_only=True) as con:
        ids = {i for (i,) in con.execute("select patient_id from cohort.ig_results").fetchall()}
    assert len(ids) > 100
    leaked = [i for i in ids if re.search(rf"(?<![\w-]){re.escape(i)}(?![\w-])", html)]
    assert not leaked


def test_every_shown_count_is_suppressed_and_rounded(shown):
    _, page = shown
    assert len(page.counts) > 200
    for text in page.counts:
        assert text in ("0", "≤7") or (number(text) % 5 == 0 and number(text) >= 7), text
    assert "≤7" in page.counts  # the planted extract has small cells


def test_differences_are_consistent_with_the_shown_numbers(shown):
    _, page = shown
    funnel = [row for row in page.rows["attrition"] if row]
    listed = page.counts[0]  # the flowchart's first box: patients who can be screened
    before = listed
    assert len(funnel) == 9
    for (kind_r, remaining), (kind_d, removed) in funnel:
        assert (kind_r, kind_d) == ("n", "d")
        if "≤" not in before and "≤" not in remaining:
            assert number(removed) == number(before) - number(remaining)
        elif "≤" in before:
            assert removed == before
        else:
            assert removed == "—"
        before = remaining


def test_a_higher_threshold_is_applied(db, tmp_path):
    _, page = parse(write_report(db, tmp_path / "report.html", min_cell=10))
    for text in page.counts:
        assert text in ("0", "≤10") or (number(text) % 5 == 0 and number(text) > 10), text


def test_without_suppression_counts_are_exact_and_every_page_is_marked(db, tmp_path):
    html, page = parse(write_report(db, tmp_path / "report.html", suppression=False))
    assert html.count("NOT FOR RELEASE") >= len(SECTION_IDS) + 1
    with duckdb.connect(str(db), read_only=True) as con:
        remaining = [
            r
            for (r,) in con.execute(
                "select remaining from cohort.attrition order by step"
            ).fetchall()
        ]
    shown = [number(cells[0][1]) for cells in page.rows["attrition"] if cells]
    assert shown == remaining


def test_cli_report_writes_the_file_and_refuses_a_missing_database(db, tmp_path, capsys):
    out = tmp_path / "sub" / "r.html"
    assert main(["report", "--db", str(db), "--out", str(out)]) == 0
    assert out.is_file() and str(out) in capsys.readouterr().out
    assert main(["report", "--db", str(tmp_path / "none.duckdb"), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("sigmd: error:")


def test_cli_report_refuses_a_database_that_is_not_a_cohort(tmp_path, capsys):
    other = tmp_path / "other.duckdb"
    with duckdb.connect(str(other)) as con:
        con.execute("create table t (x integer)")
    assert main(["report", "--db", str(other), "--out", str(tmp_path / "r.html")]) == 2
    assert "not a cohort database" in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()


def test_a_database_without_recorded_criteria_is_refused_not_guessed(db, tmp_path, capsys):
    old = tmp_path / "old.duckdb"
    old.write_bytes(db.read_bytes())
    with duckdb.connect(str(old)) as con:  # as published by a sigmd without audit.runs.criteria
        con.execute("update audit.runs set criteria = null")
    assert main(["report", "--db", str(old), "--out", str(tmp_path / "r.html")]) == 2
    assert "did not record the criteria" in capsys.readouterr().err
    assert main(["explain", "--db", str(old), "anyone"]) == 2


def test_the_dag_hand_off_carries_what_report_and_explain_need(tmp_path):
    from pipeline.result import ScreenResult
    from pipeline.run import handoff

    generate_extract(tmp_path / "extract", 120, seed=9)
    result = screen_extract(tmp_path / "extract", suites=False)
    back = handoff.load(ScreenResult, handoff.save(result, tmp_path / "screened"))
    assert back.criteria == result.criteria and back.criteria is not None
    assert back.panels.equals(result.panels) and back.panels.height > 0
    assert back.persistence.equals(result.persistence) and back.persistence.height > 0
    publish(back, tmp_path / "sigmd.duckdb")
    with duckdb.connect(str(tmp_path / "sigmd.duckdb"), read_only=True) as con:
        [(days,)] = con.execute("select criteria.repeat_low_min_days from audit.runs").fetchall()
    assert days == result.criteria["repeat_low_min_days"]


def _drop_patients(folder: Path, ids: set[str]) -> None:
    """Remove every row of the given patients from each CSV table of an extract."""
    for path in folder.glob("*.csv"):
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        kept = [lines[0]] + [line for line in lines[1:] if line.split(",", 1)[0] not in ids]
        path.write_text("".join(kept), encoding="utf-8")


def since_rows(html: str, columns: int = 4) -> list[tuple[str, ...]]:
    """The rows of the "since" section's table with `columns` cells: its texts, tags removed."""
    section = html.split('<section id="since"', 1)[1].split("</section>", 1)[0]
    rows = []
    for tr in re.findall(r"<tr>(.*?)</tr>", section, re.DOTALL):
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", tr)]
        if len(cells) == columns:
            rows.append(tuple(cells))
    return rows


def test_since_the_last_delivery_shows_suppressed_changes_and_no_patient_id(tmp_path):
    # Two deliveries to one database: the second is the first without three screened patients.
    generate_extract(tmp_path / "first", 60, seed=5)
    db_path = tmp_path / "sigmd.duckdb"
    first = screen_extract(tmp_path / "first", suites=False)
    publish(first, db_path)
    _, page = parse(write_report(db_path, tmp_path / "first.html"))
    assert "first publish of this database" in page.captions["since"]
    assert "new_patient" in page.captions["since"]
    dropped = set(first.screening["patient_id"].sort().head(3).to_list())
    shutil.copytree(tmp_path / "first", tmp_path / "second")
    _drop_patients(tmp_path / "second", dropped)
    second = screen_extract(tmp_path / "second", suites=False)
    publish(second, db_path)

    html, page = parse(write_report(db_path, tmp_path / "second.html"))
    assert page.sections == list(SECTION_IDS)
    caption = page.captions["since"]
    assert first.run_id in caption and second.run_id in caption
    assert caption.endswith(".") and ". " not in caption
    changes = since_rows(html)
    assert changes and {row[0] for row in changes} == {"no longer in the extract"}
    assert all(row[2] == "—" and row[3] == "≤7" for row in changes)  # three patients in all
    totals = dict(r[:2] for r in since_rows(html, columns=2))
    assert totals["no longer in the extract"] == "≤7"
    assert totals["new patient"] == totals["status changed"] == "0"
    section = html.split('<section id="since"', 1)[1].split("</section>", 1)[0]
    shown = re.findall(r'class="n(?: suppressed)?">([^<]*)<', section)
    assert len(shown) == len(changes) + 4 + 1  # the rows, the four totals, newly persistent
    assert all(text in ("0", "≤7") for text in shown), shown
    ids = set(first.screening["patient_id"].to_list())
    leaked = [i for i in ids if re.search(rf"(?<![\w-]){re.escape(i)}(?![\w-])", html)]
    assert not leaked

    exact, _ = parse(write_report(db_path, tmp_path / "exact.html", suppression=False))
    assert dict(r[:2] for r in since_rows(exact, columns=2))["no longer in the extract"] == "3"


def test_a_database_without_status_changes_is_refused_by_report_only(db, tmp_path, capsys):
    old = tmp_path / "old.duckdb"
    old.write_bytes(db.read_bytes())
    with duckdb.connect(str(old)) as con:  # as published before SPEC §8
        con.execute("drop table cohort.status_changes")
        [(patient,)] = con.execute("select min(patient_id) from cohort.screening").fetchall()
    assert main(["report", "--db", str(old), "--out", str(tmp_path / "r.html")]) == 2
    assert "cohort.status_changes" in capsys.readouterr().err
    assert main(["explain", "--db", str(old), patient]) == 0
