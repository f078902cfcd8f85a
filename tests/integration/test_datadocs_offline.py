"""The Data Docs of a real run render offline: headless Chromium, with every network request
refused, shows the styled index with the run's validations listed (built by the page's scripts)
and green status icons (Bootstrap's colours, Font Awesome's glyphs).

As a control, the same site as Great Expectations writes it (without `datadocs.make_offline`)
shows, offline, what the issue reported: no run listed, unstyled, script errors.

Needs Debian's `chromium` (installed by .ci/run); skipped with that reason where it is absent.
"""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest
from PIL import Image

from pipeline.cli import main
from pipeline.validate.docs import docs_index
from pipeline.validate.report import docs_dir_for

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,  # two runs and ten browser starts: about a minute
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="headless Chromium is not installed (Debian package `chromium`; .ci/run installs it)",
    ),
]

LABS = """patient_id,collected_date,test_code,test_system,test_name,value,unit,ref_low,ref_high,specimen_id
p1,2020-01-10,2472-9,LOINC,IgM,25,mg/dL,,,s1
p1,2020-01-10,2465-3,LOINC,IgG,1000,mg/dL,,,s1
p1,2020-01-10,2458-8,LOINC,IgA,200,mg/dL,,,s1
p1,2020-06-10,2472-9,LOINC,IgM,20,mg/dL,,,s2
p2,2020-01-10,2472-9,LOINC,IgM,120,mg/dL,,,
"""
PATIENTS = "patient_id,birth_date,sex\np1,1980-01-01,F\np2,1975-03-02,M\n"
SUITES = ("extract", "ig_results", "cohort")
SUCCESS_GREEN = (40, 167, 69)  # Bootstrap 4's `text-success`, the colour of the status icons
BODY_TEXT = (33, 37, 41)  # Bootstrap 4's body text colour, exactly (unstyled text is black)


def publish(root: Path) -> tuple[Path, str]:
    """Screen a small extract into `root`; the Data Docs index and the run id."""
    extract = root / "extract"
    extract.mkdir(parents=True)
    (extract / "labs.csv").write_text(LABS)
    (extract / "patients.csv").write_text(PATIENTS)
    db = root / "sigmd.duckdb"
    assert main(["run", "--extract", str(extract), "--db", str(db)]) == 0
    with duckdb.connect(str(db), read_only=True) as con:
        [(run_id,)] = con.sql("select distinct run_id from cohort.screening").fetchall()
    return docs_index(docs_dir_for(db)), run_id


@pytest.fixture(scope="module")
def offline_site(tmp_path_factory) -> tuple[Path, str]:
    return publish(tmp_path_factory.mktemp("offline"))


@pytest.fixture(scope="module")
def gx_site(tmp_path_factory) -> tuple[Path, str]:
    """The control: the pages exactly as Great Expectations writes them."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("pipeline.validate.docs.make_offline", lambda site: 0)
        return publish(tmp_path_factory.mktemp("gx"))


def browse(page: Path, profile: Path, *output: str) -> str:
    """Open `page` in headless Chromium with the network off; return its console log."""
    assert CHROMIUM is not None
    done = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",  # CI runs as root
            "--disable-gpu",
            f"--user-data-dir={profile}",
            # The network off: no name resolves, and every request goes to a closed local port.
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--proxy-server=http://127.0.0.1:9",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=10000",  # virtual time: lets the page's scripts finish
            "--window-size=1280,900",
            *output,
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    if "--dump-dom" in output:
        return done.stdout
    return "\n".join(line for line in done.stderr.splitlines() if ":CONSOLE" in line)


class RowText(HTMLParser):
    """The text of every table row the page's script rendered (`<tr data-index=...>`)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[str] = []
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr" and any(name == "data-index" for name, _ in attrs):
            self.rows.append("")
            self._depth = 1
        elif tag == "tr" and self._depth:
            self._depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr" and self._depth:
            self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._depth:
            self.rows[-1] += " " + data.strip()


def rendered_rows(index: Path, profile: Path) -> list[str]:
    parser = RowText()
    parser.feed(browse(index, profile, "--dump-dom"))
    return parser.rows


def pixels(index: Path, profile: Path, tmp_path: Path) -> dict[tuple[int, int, int], int]:
    shot = tmp_path / "index.png"
    browse(index, profile, f"--screenshot={shot}")
    image = Image.open(shot).convert("RGB")
    colours = image.getcolors(maxcolors=image.width * image.height)
    assert colours is not None
    return {rgb: n for n, rgb in colours}


def near(counts: dict[tuple[int, int, int], int], rgb: tuple[int, int, int], by: int = 12) -> int:
    """Pixels within `by` of `rgb` in every channel."""
    return sum(
        n for c, n in counts.items() if all(abs(a - b) <= by for a, b in zip(c, rgb, strict=True))
    )


def test_offline_index_lists_every_validation_of_the_run(offline_site, tmp_path):
    index, run_id = offline_site
    rows = rendered_rows(index, tmp_path / "profile")
    for suite in SUITES:
        assert [r for r in rows if f"{run_id}-{suite}" in r], suite


def test_offline_pages_load_without_a_console_error(offline_site, tmp_path):
    index, _ = offline_site
    validation_pages = sorted((index.parent / "validations").rglob("*.html"))
    assert len(validation_pages) == len(SUITES)
    for page in [index, *validation_pages]:
        assert browse(page, tmp_path / "profile") == "", page.name


def test_offline_index_is_styled_with_its_icons(offline_site, tmp_path):
    index, _ = offline_site
    counts = pixels(index, tmp_path / "profile", tmp_path)
    assert near(counts, SUCCESS_GREEN) >= 3 * 100  # a filled check-circle glyph per validation
    assert near(counts, BODY_TEXT, by=0) >= 1000


def test_control_the_pages_as_gx_writes_them_are_blank_offline(gx_site, tmp_path):
    index, run_id = gx_site
    assert "https://" in index.read_text()
    assert not [r for r in rendered_rows(index, tmp_path / "profile") if run_id in r]
    assert "$ is not defined" in browse(index, tmp_path / "profile")  # jQuery never arrived
    counts = pixels(index, tmp_path / "profile", tmp_path)
    assert near(counts, SUCCESS_GREEN) == 0
    assert near(counts, BODY_TEXT, by=0) == 0
