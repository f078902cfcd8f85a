"""Refresh pipeline/validate/datadocs_assets/ from the npm registry (run by hand, never at run time).

For every package of `assets.toml`: `npm pack NAME@VERSION`, then copy the files the Data Docs
pages load (its `urls` and `also`) and its licence file into a folder named after the package, and
write SHA256SUMS over everything shipped. Needs `npm` on the PATH and the npm registry reachable.

    uv run python scripts/update_datadocs_assets.py
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "pipeline" / "validate" / "datadocs_assets"
sys.path.insert(0, str(ROOT))

from pipeline.validate.datadocs import package_folder  # noqa: E402


def main() -> None:
    manifest = tomllib.loads((ASSETS / "assets.toml").read_text("utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        for package in manifest["package"]:
            unpack(package, Path(tmp))
    write_sums()


def unpack(package: dict[str, object], tmp: Path) -> None:
    spec = str(package["npm"])
    tgz = subprocess.run(
        ["npm", "pack", "--silent", spec],
        cwd=tmp,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()[-1]
    wanted = [*dict(package["urls"]).values(), *list(package.get("also", []))]  # type: ignore[call-overload]
    if "license_file" in package:
        wanted.append(str(package["license_file"]))
    target = ASSETS / package_folder(spec)
    with tarfile.open(tmp / tgz) as archive:
        for name in wanted:
            member = archive.extractfile(f"package/{name}")
            if member is None:
                raise SystemExit(f"{spec}: {name} is not a file of the package")
            path = target / name
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("wb") as out:
                shutil.copyfileobj(member, out)
    print(f"{spec}: {len(wanted)} files -> {target.relative_to(ROOT)}")


def write_sums() -> None:
    lines = []
    for path in sorted(ASSETS.rglob("*")):
        if path.is_file() and path.name != "SHA256SUMS":
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            lines.append(f"{digest}  {path.relative_to(ASSETS).as_posix()}\n")
    (ASSETS / "SHA256SUMS").write_text("".join(lines), "utf-8")


if __name__ == "__main__":
    main()
