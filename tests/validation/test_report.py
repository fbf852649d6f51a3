"""The five report formats on one run with errors, warnings, infos and a correction."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil

import pytest

from locator import Settings
from locator.data.corrections import load_corrections
from locator.validation.report import CSV_FIELDS, render

from .conftest import DATA, SCHOOL_BETA, clean_bureaux, replace, shift


@pytest.fixture
def result(run):
    moved = shift(SCHOOL_BETA, 300, 0)
    bureaux = replace(clean_bureaux(), "B3", lon=moved[0], lat=moved[1])
    bureaux = replace(bureaux, "Z1", lon=0.0, lat=0.0)
    house = shift((6.0150, 49.0200), 0, 120)
    bureaux = replace(bureaux, "A1", lon=house[0], lat=house[1])
    return run(bureaux, corrections=load_corrections(DATA / "corrections.csv"),
               inputs={"bureaux": "bureaux.geojson", "communes": ["communes.geojson"], "corrections": "corrections.csv"})


def test_text_report_starts_with_a_table_of_counts_then_findings_by_severity(result):
    text = render(result, "text")
    s = result.summary()
    # the lead says what needs a human, then the counts
    lead = text.split("\n\n")[2]
    assert lead.startswith(f"{s['to_check']['bureaux']} bureaux")
    assert f"à vérifier : {s['errors']} erreur" in lead
    table = re.search(r"Contrôle\s+Erreurs\s+Avert\.\s+Infos\n-+.*?\nTotal\s+(\d+)\s+(\d+)\s+(\d+)", text, re.S)
    assert table and tuple(map(int, table.groups())) == (s["errors"], s["warnings"], s["infos"])
    positions = [text.index(h) for h in ("ERREURS", "AVERTISSEMENTS", "INFORMATIONS", "CORRECTIONS APPLIQUÉES")]
    assert positions == sorted(positions)
    assert "[Z1]" in text and "Position (0, 0) (null_island)" in text and "→ suggestion" in text


def test_json_report_has_the_documented_fields(result):
    doc = json.loads(render(result, "json"))
    assert set(doc["summary"]) >= {"bureaux", "errors", "warnings", "infos", "by_check"}
    assert doc["summary"]["bureaux"] == 7
    assert doc["summary"]["by_check"]["null_island"] == 1
    assert all(isinstance(v, int) for v in doc["summary"]["by_check"].values())
    assert sum(doc["summary"]["by_check"].values()) == len(doc["findings"])
    for f in doc["findings"]:
        assert set(f) >= {"bureau_id", "check", "severity", "message", "lon", "lat", "distance_m", "suggestion"}
        assert f["severity"] in ("error", "warning", "info")
    assert [c["bureau_id"] for c in doc["corrections"]] == ["B3", "G1"]
    assert doc["references"]["57993"]["kind"] == "commune-interior"


def test_csv_report_has_one_row_per_finding(result):
    rows = list(csv.DictReader(io.StringIO(render(result, "csv"))))
    assert len(rows) == len(result.findings)
    assert list(rows[0]) == list(CSV_FIELDS)
    house = next(r for r in rows if r["check"] == "mairie_named_far" and r["bureau_id"] == "A1")
    assert float(house["suggestion_lon"]) == pytest.approx(6.015) and house["severity"] == "warning"


def test_geojson_report_has_flagged_bureaux_and_their_suggestions(result):
    doc = json.loads(render(result, "geojson"))
    assert doc["type"] == "FeatureCollection"
    kinds = {}
    for f in doc["features"]:
        kinds.setdefault(f["properties"]["kind"], []).append(f)
    z1 = next(f for f in kinds["bureau"] if f["properties"]["id"] == "Z1")
    assert z1["geometry"] is None and z1["properties"]["severity"] == "error"  # (0,0) is not drawn
    a1 = next(f for f in kinds["bureau"] if f["properties"]["id"] == "A1")
    assert a1["geometry"]["type"] == "Point" and "mairie_named_far" in a1["properties"]["checks"]
    assert {f["label"] for f in a1["properties"]["findings"] if f["check"] == "mairie_named_far"} == {
        "« Mairie » loin de la mairie"}
    assert any(s["properties"]["bureau_id"] == "A1" for s in kinds["suggestion"])
    assert any(f["properties"]["check"] == "reference_outside_commune" for f in kinds["reference"])


def test_html_report_is_one_offline_file_with_leaflet_inlined(result):
    html = render(result, "html")
    assert "L.map(" in html and "Leaflet" in html
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", html)  # nothing fetched
    assert not re.search(r"unpkg\.com|cdnjs|jsdelivr|googleapis", html)
    assert "url(images/" not in html  # Leaflet's CSS images are data URIs
    assert "null_island" in html and "Corrections appliquées" in html
    assert "</script" not in html.split("<script>")[2].split("</script>")[0]


def test_html_report_uses_the_tile_server_only_when_configured(result):
    settings = Settings(tiles_url="https://tiles.example/{z}/{x}/{y}.png", tiles_attribution="© test")
    assert "tiles.example" in render(result, "html", settings=settings)
    assert "tiles.example" not in render(result, "html")


def test_an_unknown_format_is_refused(result):
    with pytest.raises(ValueError):
        render(result, "pdf")


@pytest.mark.browser
def test_html_report_opens_offline_in_a_browser(result, tmp_path):
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not shutil.os.path.exists(chromium):
        pytest.skip("no chromium")
    playwright = pytest.importorskip("playwright.sync_api")
    path = tmp_path / "report.html"
    path.write_text(render(result, "html"), encoding="utf-8")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page()
        errors, requests = [], []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(path.as_uri())
        page.wait_for_selector(".leaflet-container")
        page.click("tr.finding >> nth=0")
        page.wait_for_selector(".leaflet-popup-content")
        browser.close()
    assert errors == []
    assert [u for u in requests if not u.startswith(("file:", "data:"))] == []


@pytest.mark.browser
def test_html_severity_filters_hide_the_map_markers_as_well_as_the_rows(result, tmp_path):
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not shutil.os.path.exists(chromium):
        pytest.skip("no chromium")
    playwright = pytest.importorskip("playwright.sync_api")
    path = tmp_path / "report.html"
    path.write_text(render(result, "html"), encoding="utf-8")
    count_js = "() => reportMap.layers.filter(l => reportMap.map.hasLayer(l.items[0])).length"
    rows_js = "() => [...document.querySelectorAll('tr.finding')].filter(r => r.style.display !== 'none').length"
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page()
        page.goto(path.as_uri())
        page.wait_for_selector(".leaflet-container")
        all_markers, all_rows = page.evaluate(count_js), page.evaluate(rows_js)
        for sev in ("error", "warning", "info"):
            page.uncheck(f'.filters input[data-sev="{sev}"]')
        none_markers, none_rows = page.evaluate(count_js), page.evaluate(rows_js)
        page.check('.filters input[data-sev="error"]')
        error_markers, error_rows = page.evaluate(count_js), page.evaluate(rows_js)
        browser.close()
    assert all_rows == len(result.findings) and all_markers > error_markers > 0
    assert none_markers == 0 and none_rows == 0
    assert error_rows == result.count("error")


def test_html_map_outlines_the_communes_no_bureau_serves_when_that_is_an_error(run):
    bureaux = replace(clean_bureaux(), "E1", communes_served=("57995",))  # Eta served by nobody
    html = render(run(bureaux), "html")
    data = json.loads(re.search(r"var data = (\{.*?\});\n", html).group(1))
    assert "57997" in {f["properties"]["code"] for f in data["communes"]["features"]}
