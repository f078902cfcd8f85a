"""Malformed files and a hostile environment: refused in one true line, nothing published.

Each case runs `sigmd run` on the valid base extract with one defect and checks: the exit code,
exactly one line on stderr with the true reason, no traceback, no cell text or patient id, the
published database byte-for-byte unchanged. Refusals (exit 2-5) are recorded in the run journal
beside the database; the next publish carries them into `audit.runs` with outcome `refused`.
Permission cases need a user the file system can refuse: when the tests run as root they run
`sigmd` as the unprivileged user `nobody`, or, where `nobody` cannot run this Python (a
per-user interpreter under /root), make the operating system's refusal with the same error
(`PermissionError`, errno EACCES) at the same call, in-process.
"""

from __future__ import annotations

import codecs
import errno
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipeline.cli import main
from pipeline.validate import docs as docs_module

REPO = Path(__file__).resolve().parents[2]
BASE = REPO / "tests" / "fixtures" / "broken" / "_base"
NOBODY = 65534
SECRET = "Pzq\u00e9"  # a patient id in the malformed files: must never be printed


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def world() -> Iterator[Path]:
    """A folder every user may enter (tmp_path is private to root), removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="sigmd-reliability-"))
    folder.chmod(0o777)
    try:
        yield folder
    finally:
        for path in folder.rglob("*"):
            if not path.is_symlink():
                path.chmod(0o777 if path.is_dir() else 0o666)
        shutil.rmtree(folder)


@pytest.fixture
def published(world: Path) -> Path:
    db = world / "out" / "sigmd.duckdb"
    assert main(["run", "--extract", str(BASE), "--db", str(db)]) == 0
    for path in [db.parent, *db.parent.rglob("*")]:
        if not path.is_symlink():
            path.chmod(0o777 if path.is_dir() else 0o666)
    return db


def extract_with(world: Path, **files: str | bytes) -> Path:
    folder = world / "extract"
    shutil.copytree(BASE, folder)
    for name, data in files.items():
        target = folder / name.replace("__", ".")
        target.write_bytes(data if isinstance(data, bytes) else data.encode())
    for path in [folder, *folder.iterdir()]:
        path.chmod(0o777 if path.is_dir() else 0o666)
    return folder


def sigmd(*args: str, unprivileged: bool = False) -> tuple[int, str]:
    """`sigmd run ...` as a process (as `nobody` when asked and running as root)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "HOME": tempfile.gettempdir()}
    switch = unprivileged and os.geteuid() == 0
    completed = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tempfile.gettempdir() if switch else REPO,
        preexec_fn=(lambda: os.setuid(NOBODY)) if switch else None,
        timeout=600,
        check=False,
    )
    assert "Traceback" not in completed.stderr, completed.stderr
    return completed.returncode, completed.stderr


def real_permissions() -> bool:
    """Whether a permission denied can really happen to `sigmd` here."""
    if os.geteuid() != 0:
        return True
    try:
        subprocess.run(
            [sys.executable, "-c", "pass"],
            preexec_fn=lambda: os.setuid(NOBODY),
            check=True,
            capture_output=True,
            cwd=tempfile.gettempdir(),
        )
    except (OSError, subprocess.CalledProcessError):
        return False
    return True


REAL_PERMISSIONS = real_permissions()


def denied(path: object) -> PermissionError:
    return PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))


def run_denied(args: list[str], monkeypatch, capsys, *, deny) -> tuple[int, str]:
    """`sigmd` with permission denied: for real as `nobody`, or made by `deny(monkeypatch)`."""
    if REAL_PERMISSIONS:
        return sigmd(*args, unprivileged=True)
    deny(monkeypatch)
    code = main(args)
    return code, capsys.readouterr().err


def refused_in_one_line(code: int, err: str, expected_code: int, reason: str) -> None:
    assert code == expected_code, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sigmd: error: "), err
    assert reason in lines[0], lines[0]
    assert SECRET not in err and "Traceback" not in err


BASE_LABS = (BASE / "labs.csv").read_text()
BASE_PATIENTS = (BASE / "patients.csv").read_text()
LATIN = BASE_LABS.replace("p2,", f"{SECRET},")


CASES = {
    "column name given twice": (
        {"labs__csv": BASE_LABS.replace("specimen_id", "specimen_id,value", 1)},
        "labs.csv: column 'value': duplicate column name",
    ),
    "table in CSV and Parquet": ({}, "table 'labs' is in both CSV and Parquet files"),
    "Latin-1 bytes": (
        {"labs__csv": LATIN.encode("latin-1")},
        "labs.csv: is not UTF-8 text (invalid bytes on line 6)",
    ),
    "CR-only line ends": (
        {"labs__csv": LATIN.replace("\n", "\r")},
        "labs.csv: has CR-only line ends",
    ),
    "UTF-16": (
        {"labs__csv": codecs.BOM_UTF16_LE + LATIN.encode("utf-16-le")},
        "labs.csv: is UTF-16 (or binary), not UTF-8 text",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_file_is_refused_in_one_true_line_and_journaled(
    case, world, published, capsys, figures
):
    files, reason = CASES[case]
    extract = extract_with(world, **files)
    if case == "table in CSV and Parquet":
        pl.read_csv(BASE / "labs.csv", infer_schema=False).write_parquet(extract / "labs.parquet")
    before = digest(published)
    capsys.readouterr()

    code = main(["run", "--extract", str(extract), "--db", str(published)])
    refused_in_one_line(code, capsys.readouterr().err, 2, reason)
    assert digest(published) == before
    journal = published.with_name(f"{published.name}.journal")
    [line] = journal.read_text().splitlines()
    assert reason in line and SECRET not in line
    figures(f"malformed file: {case}", exit_code=code, refused=1, published_db_unchanged=1)


def test_blank_lines_are_not_rows(world, published, capsys):
    labs = BASE_LABS.splitlines(keepends=True)
    extract = extract_with(
        world, labs__csv="".join([labs[0], "\n", *labs[1:3], "\n\n", *labs[3:], "\n"])
    )
    assert main(["run", "--extract", str(extract), "--db", str(published)]) == 0
    assert SECRET not in capsys.readouterr().out
    with duckdb.connect(str(published), read_only=True) as con:
        counts = con.sql(
            "select outcome, [c.read for c in row_counts if c.table_name = 'labs'] "
            "from audit.runs order by run_number"
        ).fetchall()
        [(quarantined,)] = con.sql("select count(*) from audit.quarantine").fetchall()
    assert counts == [("published", [len(labs) - 1])] * 2
    assert quarantined == 0


def test_refusals_reach_audit_runs_with_the_next_publish(world, published, capsys):
    for name in ("dup", "cr"):
        bad = world / name
        shutil.copytree(BASE, bad)
        text = (
            BASE_LABS.replace("\n", "\r")
            if name == "cr"
            else BASE_LABS.replace("specimen_id", "specimen_id,value", 1)
        )
        (bad / "labs.csv").write_text(text)
        assert main(["run", "--extract", str(bad), "--db", str(published)]) == 2
    assert main(["run", "--extract", str(BASE), "--db", str(published)]) == 0
    with duckdb.connect(str(published), read_only=True) as con:
        rows = con.sql(
            "select run_number, outcome, exit_code, reason, run_id is null from audit.runs "
            "order by run_number"
        ).fetchall()
    assert [r[:3] for r in rows] == [
        (1, "published", 0),
        (2, "refused", 2),
        (3, "refused", 2),
        (4, "published", 0),
    ]
    assert "duplicate column name" in rows[1][3] and "CR-only line ends" in rows[2][3]
    assert rows[1][4] and not rows[3][4]
    assert not published.with_name(f"{published.name}.journal").exists()


def test_symlink_loop_is_named(world, published):
    extract = extract_with(world)
    (extract / "labs.csv").unlink()
    (extract / "labs.csv").symlink_to(extract / "labs.csv")
    code, err = sigmd("run", "--extract", str(extract), "--db", str(published))
    refused_in_one_line(code, err, 2, "labs.csv: symbolic link loop")


def test_unreadable_file_is_permission_denied(world, published, monkeypatch, capsys):
    extract = extract_with(world)
    labs = extract / "labs.csv"
    labs.chmod(0)
    real_open = Path.open

    def deny(patch):
        def fake_open(self, *args, **kwargs):
            if self == labs:
                raise denied(self)
            return real_open(self, *args, **kwargs)

        patch.setattr(Path, "open", fake_open)

    args = ["run", "--extract", str(extract), "--db", str(published)]
    code, err = run_denied(args, monkeypatch, capsys, deny=deny)
    refused_in_one_line(code, err, 2, "labs.csv: permission denied: the file cannot be read")


def test_unreadable_extract_folder_is_named(world, published, monkeypatch, capsys):
    extract = extract_with(world)
    extract.chmod(0o311)  # can be entered, not listed
    real_iterdir = Path.iterdir

    def deny(patch):
        def fake_iterdir(self):
            if self == extract:
                raise denied(self)
            return real_iterdir(self)

        patch.setattr(Path, "iterdir", fake_iterdir)

    args = ["run", "--extract", str(extract), "--db", str(published)]
    code, err = run_denied(args, monkeypatch, capsys, deny=deny)
    refused_in_one_line(
        code, err, 2, f"{extract}: the extract folder cannot be listed (permission denied)"
    )


def test_unwritable_database_folder_is_exit_6(world, monkeypatch, capsys):
    folder = world / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    db = folder / "sigmd.duckdb"
    real_os_open = os.open

    def deny(patch):
        def fake_os_open(path, *args, **kwargs):
            if Path(path).parent == folder:
                raise denied(path)
            return real_os_open(path, *args, **kwargs)

        patch.setattr(os, "open", fake_os_open)

    args = ["run", "--extract", str(BASE), "--db", str(db)]
    code, err = run_denied(args, monkeypatch, capsys, deny=deny)
    refused_in_one_line(code, err, 6, "Permission denied")
    assert list(folder.iterdir()) == []


def test_database_folder_that_is_a_file_is_exit_6(world, capsys):
    (world / "plain").write_text("x")
    code = main(["run", "--extract", str(BASE), "--db", str(world / "plain" / "sigmd.duckdb")])
    err = capsys.readouterr().err
    refused_in_one_line(code, err, 6, "cannot create the database folder (it is not a folder)")


def test_db_that_is_not_a_sigmd_database_is_refused_before_screening(world, capsys):
    other = world / "other.duckdb"
    with duckdb.connect(str(other)) as con:
        con.execute("create table precious as select 42 as answer")
    before = digest(other)
    notes = world / "notes.duckdb"
    notes.write_text("not a database\n")
    for target, reason in ((other, "not a sigmd cohort database"), (notes, "not a DuckDB")):
        code = main(["run", "--extract", str(BASE), "--db", str(target)])
        err = capsys.readouterr().err
        refused_in_one_line(code, err, 6, reason)
    assert digest(other) == before
    assert sorted(p.name for p in world.iterdir()) == ["notes.duckdb", "other.duckdb"]


def test_full_disk_while_writing_the_data_docs_is_exit_6_and_publishes_nothing(
    world, published, monkeypatch, capsys
):
    before = digest(published)
    real_copyfile = shutil.copyfile

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(docs_module.shutil, "copyfile", disk_full)
    code = main(["run", "--extract", str(BASE), "--db", str(published)])
    err = capsys.readouterr().err
    refused_in_one_line(code, err, 6, "could not write the Data Docs (No space left on device)")
    assert "the published database is unchanged" in err
    assert digest(published) == before
    monkeypatch.setattr(docs_module.shutil, "copyfile", real_copyfile)
    assert main(["run", "--extract", str(BASE), "--db", str(published)]) == 0
