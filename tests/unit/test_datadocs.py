"""Data Docs offline: the shipped assets are the exact files the pages ask for, with their
licences, and every page is pointed at them (pipeline/validate/datadocs.py).

The rendering itself, in a browser with the network off, is tests/integration/test_datadocs_offline.py.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import logging
import re
from pathlib import Path

import pytest

from pipeline.validate import datadocs
from pipeline.validate.datadocs import ASSETS_DIR, make_offline, manifest, package_folder

GX_SPEC = importlib.util.find_spec("great_expectations")
assert GX_SPEC is not None and GX_SPEC.submodule_search_locations
GX_TEMPLATES = (
    Path(next(iter(GX_SPEC.submodule_search_locations))) / "render" / "view" / "templates"
)
TAG_URL = re.compile(r"""<(?:script|link)\b[^>]*?\s(?:src|href)=["'](https?://[^"']+)["']""")


def gx_template_tags() -> list[str]:
    return [
        tag
        for template in sorted(GX_TEMPLATES.glob("*.j2"))
        for tag in re.findall(r"<(?:script|link)\b[^>]*>", template.read_text("utf-8"))
    ]


def test_every_address_the_installed_gx_templates_load_is_shipped():
    """A Great Expectations upgrade that adds or moves a CDN asset fails here, not offline."""
    wanted = {m[1] for tag in gx_template_tags() if (m := TAG_URL.search(tag))}
    assert wanted
    assert wanted <= set(datadocs.asset_urls())


def test_shipped_files_are_the_ones_the_pages_integrity_hashes_name():
    """Where a page pins its asset with a subresource-integrity hash, our copy matches it."""
    checked = 0
    for tag in gx_template_tags():
        url, integrity = TAG_URL.search(tag), re.search(r'integrity="sha384-([^"]+)"', tag)
        if url and integrity:
            shipped = ASSETS_DIR / datadocs.asset_urls()[url[1]]
            digest = base64.b64encode(hashlib.sha384(shipped.read_bytes()).digest()).decode()
            assert digest == integrity[1], url[1]
            checked += 1
    assert checked >= 2  # popper.js and bootstrap.js


def test_sha256sums_pin_every_shipped_file():
    listed = {}
    for line in (ASSETS_DIR / "SHA256SUMS").read_text("utf-8").splitlines():
        digest, name = line.split("  ", 1)
        listed[name] = digest
    shipped = {
        p.relative_to(ASSETS_DIR).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in ASSETS_DIR.rglob("*")
        if p.is_file() and p.name != "SHA256SUMS"
    }
    assert listed == shipped


def test_every_package_ships_its_licence_and_every_file_it_serves():
    for package in manifest()["package"]:
        folder = ASSETS_DIR / package_folder(package["npm"])
        assert (folder / package.get("license_file", "LICENSE")).is_file(), package["npm"]
        for file in [*package["urls"].values(), *package.get("also", [])]:
            assert (folder / file).is_file(), f"{package['npm']}: {file}"


def test_every_url_in_a_shipped_stylesheet_resolves_to_a_shipped_file():
    for css in ASSETS_DIR.rglob("*.css"):
        for ref in re.findall(r"url\(\s*[\"']?([^\"')]+)", css.read_text("utf-8")):
            if not ref.startswith(("data:", "#")):
                assert (css.parent / ref.split("?")[0].split("#")[0]).is_file(), (css.name, ref)


def test_package_folder_drops_the_npm_scope():
    assert package_folder("@fortawesome/fontawesome-free@6.6.0") == "fontawesome-free-6.6.0"
    assert package_folder("jquery@3.7.1") == "jquery-3.7.1"


PAGE = """<html><head>
<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css"/>
<script src="https://code.jquery.com/jquery-3.7.1.min.js"></script>
<script src="https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js" integrity="sha384-JjSmVgyd0p3pXB1rRibZUAYoIIy6OrQ6VrjIEaFf/nJGzIxFDsf4x0xIM+B07jRM" crossorigin="anonymous"></script>
<style>.x { background: url('https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/full_logo_dark.png') }</style>
</head><body>
<img src="https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/logo-long.png?d=20261201T045524.665424Z&dataContextId=abc"/>
<a href="https://greatexpectations.io">a link, not an asset</a>
</body></html>
"""


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "local_site"
    (root / "validations" / "cohort" / "run").mkdir(parents=True)
    (root / "static" / "images").mkdir(parents=True)
    (root / "static" / "images" / "logo-long.png").write_bytes(b"")  # GX copies its images here
    (root / "index.html").write_text(PAGE)
    deep_page(root).write_text(PAGE)
    return root


def deep_page(site: Path) -> Path:
    return site / "validations" / "cohort" / "run" / "page.html"


def test_pages_point_at_local_copies_relative_to_where_they_are(site):
    assert make_offline(site) == 2
    vendor = datadocs.vendor_name()
    index = (site / "index.html").read_text()
    deep = deep_page(site).read_text()
    assert f'href="static/{vendor}/bootstrap-4.3.1/dist/css/bootstrap.min.css"' in index
    assert f'src="../../../static/{vendor}/jquery-3.7.1/dist/jquery.min.js"' in deep
    assert 'src="static/images/logo-long.png"' in index  # GX's own copy, without the tracking query
    assert "url('../../../static/images/logo-long.png')" in deep
    for html, page in ((index, site / "index.html"), (deep, deep_page(site))):
        assert "integrity=" not in html and "crossorigin=" not in html
        assert datadocs.external_assets(html) == set()
        for ref in re.findall(r'(?:src|href)="([^"#:]+)"', html):
            assert (page.parent / ref).is_file(), ref
    assert 'href="https://greatexpectations.io"' in index  # links stay links


def test_a_second_pass_changes_nothing_and_leaves_no_temporary_files(site):
    make_offline(site)
    before = {p: p.read_bytes() for p in site.rglob("*") if p.is_file()}
    assert make_offline(site) == 0
    assert {p: p.read_bytes() for p in site.rglob("*") if p.is_file()} == before
    assert not [p for p in site.rglob("*") if p.name.endswith(".tmp")]


def test_assets_of_an_older_version_are_replaced_and_removed(site):
    old = site / "static" / "vendor-0123456789ab"
    (old / "jquery-3.7.1").mkdir(parents=True)
    (site / "index.html").write_text(
        '<script src="static/vendor-0123456789ab/jquery-3.7.1/dist/jquery.min.js"></script>'
    )
    make_offline(site)
    assert f"static/{datadocs.vendor_name()}/jquery-3.7.1" in (site / "index.html").read_text()
    assert not old.exists()


def test_an_address_not_in_the_manifest_is_named_in_a_warning_and_left_alone(site, caplog):
    (site / "index.html").write_text('<script src="https://cdn.example.org/new.js"></script>')
    with caplog.at_level(logging.WARNING, logger="pipeline.validate.datadocs"):
        make_offline(site)
    assert "https://cdn.example.org/new.js" in caplog.text
    assert "https://cdn.example.org/new.js" in (site / "index.html").read_text()
