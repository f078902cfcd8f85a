"""Make a Great Expectations Data Docs site render offline: no page loads anything from the network.

GX's page templates load Bootstrap, bootstrap-table, jQuery, Font Awesome, Vega and more from CDN
hosts, and its logo from its own web host. In a hospital network without internet access the
pages are then unstyled, the index lists no runs (its tables are built by script) and the status
icons are blank. GX cannot be configured otherwise (a site's custom views do not replace its
built-in templates), so after every build `make_offline(site_dir)`:

1. copies the assets of `datadocs_assets/` (the exact files those addresses serve, taken from the
   npm registry with their licences: `datadocs_assets/assets.toml`) into the site, as
   `static/vendor-<hash>/`, a folder named after its content and moved into place whole;
2. rewrites every page so that each of those addresses points at the local copy (relative to the
   page, so the site can be moved or zipped), and GX's logo at the copy GX ships in the site
   (`static/images/`). Each page is replaced atomically; a page already rewritten is left as it is.

An address the pages use that is not in the manifest (a newer GX template) is logged as a
warning naming the address, and stays as it was.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import tomllib
import uuid
from functools import cache
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

ASSETS_DIR = Path(__file__).parent / "datadocs_assets"
MANIFEST = ASSETS_DIR / "assets.toml"
VENDOR_PREFIX = "vendor-"

# An address loaded by a page: a script or image source, a stylesheet, a CSS url(...).
_EXTERNAL_ASSET = re.compile(
    r"""<(?:script|img)\b[^>]*?\ssrc=["'](https?://[^"']+)["']"""
    r"""|<link\b[^>]*?\shref=["'](https?://[^"']+)["']"""
    r"""|url\(\s*["']?(https?://[^"')\s]+)""",
    re.IGNORECASE,
)
# Subresource-integrity attributes on the tags we point at local files: the files are the exact
# ones the hashes name (a unit test checks it), but a browser cannot check them on a file://
# page, where `crossorigin` makes it refuse the script.
_INTEGRITY = re.compile(r"""\s+(?:integrity|crossorigin)=["'][^"']*["']""")
_OLD_VENDOR = re.compile(re.escape(VENDOR_PREFIX) + r"[0-9a-f]{12}/")


def package_folder(npm_spec: str) -> str:
    """The folder of one npm package in datadocs_assets/: `@scope/name@1.2.3` -> `name-1.2.3`."""
    name, _, version = npm_spec.rpartition("@")
    return f"{name.rpartition('/')[2]}-{version}"


@cache
def manifest() -> dict[str, Any]:
    loaded: dict[str, Any] = tomllib.loads(MANIFEST.read_text("utf-8"))
    return loaded


@cache
def asset_urls() -> dict[str, str]:
    """CDN address -> path of the local copy inside the vendor folder."""
    return {
        url: f"{package_folder(package['npm'])}/{file}"
        for package in manifest()["package"]
        for url, file in package["urls"].items()
    }


@cache
def vendor_name() -> str:
    """`vendor-<first 12 hex digits of the SHA-256 of every shipped file>`: a new set of assets
    gets a new folder, so a page never points at a half-copied one."""
    digest = hashlib.sha256()
    for path in sorted(ASSETS_DIR.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(ASSETS_DIR).as_posix().encode())
            digest.update(path.read_bytes())
    return VENDOR_PREFIX + digest.hexdigest()[:12]


def make_offline(site_dir: Path) -> int:
    """Copy the assets into the Data Docs site at `site_dir` (the folder of its index.html) and
    point every page at them; return the number of pages rewritten."""
    static = site_dir / "static"
    install_assets(static)
    rewritten = 0
    unknown: set[str] = set()
    for page in sorted(site_dir.rglob("*.html")):
        html = page.read_text("utf-8")
        new = offline_html(html, "../" * (len(page.relative_to(site_dir).parts) - 1))
        if new != html:
            replace_text(page, new)
            rewritten += 1
        unknown |= external_assets(new)
    for url in sorted(unknown):
        log.warning("Data Docs pages load %s, which is not shipped for offline use", url)
    remove_old_vendors(static)
    return rewritten


def install_assets(static: Path) -> Path:
    """`static/vendor-<hash>/`, copied aside and renamed into place (atomic)."""
    target = static / vendor_name()
    if target.is_dir():
        return target
    static.mkdir(parents=True, exist_ok=True)
    staging = static / f".{target.name}.{uuid.uuid4().hex}.tmp"
    shutil.copytree(ASSETS_DIR, staging)
    try:
        staging.rename(target)
    except OSError:  # a concurrent build moved the same folder in first: same content
        if not target.is_dir():
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def replace_text(path: Path, text: str) -> None:
    """Write `text` beside `path` and rename it over (atomic: a reader sees old or new)."""
    staging = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    staging.write_text(text, "utf-8")
    os.replace(staging, path)


def offline_html(html: str, up: str) -> str:
    """The page's HTML with every known CDN address replaced by its local copy (`up` leads from
    the page's folder to the site's root: `""`, `"../"`, ...)."""
    vendor = f"{up}static/{vendor_name()}/"
    html = _OLD_VENDOR.sub(f"{vendor_name()}/", html)
    for url, local in asset_urls().items():

        def point_at_copy(tag: re.Match[str], local: str = local) -> str:
            return _INTEGRITY.sub("", f"{tag[1]}{vendor}{local}{tag[2]}")

        html = re.sub(rf"""(<[^>]*["']){re.escape(url)}(["'][^>]*>)""", point_at_copy, html)
    for url, image in manifest()["images"].items():
        # GX appends `?d=<time>&dataContextId=<id>` to its logo address: drop it with the host.
        html = re.sub(re.escape(url) + r"""(?:\?[^"'\s)]*)?""", f"{up}static/images/{image}", html)
    return html


def external_assets(html: str) -> set[str]:
    """Every address on another host that the page loads (links to other pages do not count)."""
    return {next(g for g in m.groups() if g) for m in _EXTERNAL_ASSET.finditer(html)}


def remove_old_vendors(static: Path) -> None:
    """Asset folders of another sigmd version: no page points at them any more."""
    for folder in static.glob(f"{VENDOR_PREFIX}*"):
        if folder.name != vendor_name():
            shutil.rmtree(folder, ignore_errors=True)
