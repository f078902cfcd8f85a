"""What a run writes inside a clone stays out of git: the demo folder and the Data Docs folders
that `sigmd run` writes next to a database (`<db name>-validation/`)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(
    shutil.which("git") is None or not (ROOT / ".git").exists(), reason="not a git checkout"
)


@pytest.mark.parametrize(
    "output",
    [
        "sigmd-demo/sigmd.duckdb",
        "sigmd-demo/extract/labs.csv",
        "sigmd-demo/sigmd-validation/gx/uncommitted/data_docs/local_site/index.html",
        "data/output/sigmd-validation/gx/great_expectations.yml",
        "site_b-validation/gx/great_expectations.yml",
    ],
)
def test_run_outputs_are_ignored_by_git(output):
    done = subprocess.run(
        ["git", "check-ignore", "--no-index", "-q", output], cwd=ROOT, check=False
    )
    assert done.returncode == 0, f"{output} is not covered by .gitignore"


def test_shipped_files_are_not_ignored():
    done = subprocess.run(
        [
            "git",
            "check-ignore",
            "--no-index",
            "-q",
            "pipeline/validate/datadocs_assets/assets.toml",
        ],
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 1
