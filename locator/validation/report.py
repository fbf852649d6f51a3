"""Report renderers: text (a data-quality table, then the findings by severity), json, csv,
geojson (the flagged bureaux and their suggestions) and html (a Leaflet map and the table).

The HTML report is one self-contained file: Leaflet's JS and CSS come from the
XStatic-Leaflet package installed with the project and are inlined (its images as data
URIs), so the report opens offline and never calls a CDN. Without a tile server
(``Settings.tiles_url``) the map draws the commune outlines as its background.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
import re
import textwrap
from functools import cache
from importlib import resources
from pathlib import Path

from ..config import Settings
from ..data.geojson import dumps_collection, feature, geometry_to_geojson
from .checks import in_france, label
from .flag import SEVERITIES, SEVERITY_RANK
from .reference import GEOCODED, INTERIOR, OFFICIAL
from .run import ValidationResult

FORMATS = ("text", "json", "csv", "geojson", "html")
#: A finding about many communes outlines at most this many on the HTML map.
MAX_OUTLINED = 50
SEVERITY_LABELS = {"error": "erreur", "warning": "avertissement", "info": "information"}
_SHORT_REFERENCE = {OFFICIAL: "point officiel (Annuaire)", GEOCODED: "adresse de la mairie géocodée",
                    INTERIOR: "intérieur de la commune (repli)"}
_HEADINGS = {
    "error": "ERREURS — à corriger avant publication",
    "warning": "AVERTISSEMENTS — à vérifier à la main",
    "info": "INFORMATIONS",
}


def render(result: ValidationResult, fmt: str, *, settings: Settings | None = None) -> str:
    """The report in one of ``FORMATS``."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")
    if fmt == "html":
        return render_html(result, settings=settings)
    return {"text": render_text, "json": render_json, "csv": render_csv, "geojson": render_geojson}[fmt](result)


# -- text -------------------------------------------------------------------------------------

def _count(n: int, singular: str, plural: str) -> str:
    return f"{n} {singular if n <= 1 else plural}"  # French: 0 and 1 take the singular


def headline(result: ValidationResult) -> str:
    """The report's first sentence: what needs a human, then the counts by severity. Never
    "no error" alone while warnings remain ("3 bureaux à vérifier : 1 erreur, 2 avertissements")."""
    s = result.summary()
    t = s["to_check"]
    parts = [text for n, text in ((t["bureaux"], _count(t["bureaux"], "bureau", "bureaux")),
                                  (t["references"], _count(t["references"], "mairie de référence",
                                                           "mairies de référence")),
                                  (t["other"], _count(t["other"], "constat sur les données",
                                                      "constats sur les données"))) if n]
    infos = f" ({_count(s['infos'], 'information', 'informations')})" if s["infos"] else ""
    if not parts:
        return f"Rien à vérifier : aucune erreur, aucun avertissement{infos}."
    what = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " et " + parts[-1]
    todo = ("corrigez les erreurs avant publication, vérifiez les avertissements à la main" if s["errors"]
            and s["warnings"] else "à corriger avant publication" if s["errors"] else "à vérifier à la main")
    return (f"{what} à vérifier : {_count(s['errors'], 'erreur', 'erreurs')}, "
            f"{_count(s['warnings'], 'avertissement', 'avertissements')}{infos} — {todo}.")


def check_table(result: ValidationResult) -> list[str]:
    """The counts per check and severity, each check by its French label and its code."""
    s = result.summary()
    detail = s["by_check_severity"]
    if not detail:
        return ["Aucun constat."]
    names = {name: f"{label(name)} ({name})" for name in detail}
    width = max(len("Contrôle"), *(len(n) for n in names.values()))
    out = [f"{'Contrôle':<{width}}  {'Erreurs':>7}  {'Avert.':>6}  {'Infos':>5}",
           f"{'-' * width}  {'-' * 7}  {'-' * 6}  {'-' * 5}"]
    for name, sev in detail.items():
        out.append(f"{names[name]:<{width}}  {sev['error']:>7}  {sev['warning']:>6}  {sev['info']:>5}")
    out.append(f"{'Total':<{width}}  {s['errors']:>7}  {s['warnings']:>6}  {s['infos']:>5}")
    return out


def render_text(result: ValidationResult, *, summary_only: bool = False) -> str:
    """The text report; ``summary_only``: the inputs, the headline and the table of counts."""
    s = result.summary()
    inputs = result.inputs
    out = ["Contrôle des bureaux de vote", ""]
    if inputs.get("bureaux"):
        out.append(f"  bureaux      : {inputs['bureaux']} ({s['bureaux']} bureaux)")
    else:
        out.append(f"  bureaux      : {s['bureaux']}")
    out.append(f"  communes     : {s['communes']}" + (f" ({', '.join(inputs['communes'])})" if inputs.get("communes") else ""))
    if inputs.get("areas"):
        out.append(f"  périmètres   : {inputs['areas']}")
    out.append(f"  corrections  : {inputs.get('corrections') or 'aucun fichier'} ({s['corrections_applied']} appliquée(s))")
    refs = ", ".join(f"{n} {_SHORT_REFERENCE[k]}" for k, n in sorted(s["references"].items()))
    out.append(f"  référence mairie des bureaux : {refs or '—'}")
    if result.regeocode is not None:
        out.append(f"  re-géocodage : {result.regeocode.queries} requête(s)"
                   + (f", interrompu : {result.regeocode.failure}" if result.regeocode.failure else ""))
    out += ["", headline(result), ""]
    out += check_table(result)
    if summary_only:
        return "\n".join(out) + "\n"
    for severity in SEVERITIES:
        group = [f for f in result.findings if f.severity == severity]
        if not group:
            continue
        out += ["", f"{_HEADINGS[severity]} ({len(group)})", ""]
        for f in group:
            if f.bureau_id is not None:
                who = f"[{f.bureau_id}] {f.extra.get('name', '')}".rstrip()
            elif f.extra.get("commune"):
                who = f"[référence {f.extra['commune']}] {f.extra.get('nom', '')}".rstrip()
            else:
                who = "[données]"
            dist = f", {f.distance_m:.0f} m" if f.distance_m is not None else ""
            out.append(f"  {who} — {label(f.check)} ({f.check}){dist}")
            out += textwrap.wrap(f.message, 96, initial_indent="      ", subsequent_indent="      ",
                                 break_on_hyphens=False, break_long_words=False)
            if f.suggestion:
                out.append("      → suggestion : " + _suggestion_text(f.suggestion))
    if result.applied:
        out += ["", f"CORRECTIONS APPLIQUÉES ({len(result.applied)})", ""]
        for a in result.applied:
            c = a.correction
            point = f"{c.lon}, {c.lat}" if c.moves else "point inchangé"
            addr = f" ; adresse « {c.address} »" if c.address else ""
            out.append(f"  [{c.bureau_id}] {point}{addr} — {c.reason} ({c.author}{', ' + c.date if c.date else ''})")
    return "\n".join(out) + "\n"


def _suggestion_text(s: dict) -> str:
    parts = []
    if "lon" in s and "lat" in s:
        parts.append(f"{s['lon']:.6f}, {s['lat']:.6f}")
    if "code_insee" in s:
        parts.append(f"code_insee {s['code_insee']}")
    return " ".join(parts) + (f" ({s['reason']})" if s.get("reason") else "")


# -- json / csv -------------------------------------------------------------------------------

def report_dict(result: ValidationResult) -> dict:
    hosts = {b.code_insee for b in result.bureaux}
    return {
        "summary": result.summary(),
        "findings": [{**f.to_dict(), "label": label(f.check)} for f in result.findings],
        "corrections": [a.correction.to_dict() for a in result.applied],
        "references": {code: ref.to_dict() for code, ref in sorted(result.references.items()) if code in hosts},
        "inputs": result.inputs,
    }


def render_json(result: ValidationResult) -> str:
    return json.dumps(report_dict(result), ensure_ascii=False, indent=1) + "\n"


CSV_FIELDS = ("severity", "check", "check_label", "bureau_id", "name", "code_insee", "commune", "message", "lon", "lat",
              "distance_m", "suggestion_lon", "suggestion_lat", "suggestion_code_insee", "suggestion_reason")


def render_csv(result: ValidationResult) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for f in result.findings:
        s = f.suggestion or {}
        writer.writerow({
            "severity": f.severity, "check": f.check, "check_label": label(f.check), "bureau_id": f.bureau_id or "",
            "name": f.extra.get("name", ""), "code_insee": f.extra.get("code_insee", ""),
            "commune": f.extra.get("commune", ""), "message": f.message,
            "lon": "" if f.lon is None else f.lon, "lat": "" if f.lat is None else f.lat,
            "distance_m": "" if f.distance_m is None else round(f.distance_m, 1),
            "suggestion_lon": s.get("lon", ""), "suggestion_lat": s.get("lat", ""),
            "suggestion_code_insee": s.get("code_insee", ""), "suggestion_reason": s.get("reason", ""),
        })
    return buf.getvalue()


# -- geojson ----------------------------------------------------------------------------------

def _plausible(lon, lat) -> bool:
    """A point worth drawing: (0,0), swapped or projected values would only stretch the map."""
    return lon is not None and lat is not None and in_france(lon, lat)


def _point(lon, lat) -> dict | None:
    return {"type": "Point", "coordinates": [lon, lat]} if _plausible(lon, lat) else None


def render_geojson(result: ValidationResult) -> str:
    """One feature per flagged bureau (``kind: bureau``, worst severity, every finding), one
    per finding on a reference or a commune, one per suggested point (``kind: suggestion``).
    Implausible points ((0,0), swapped, projected) get a null geometry."""
    bureaux = {b.id: b for b in result.bureaux}
    per_bureau: dict[str, list] = {}
    features = []
    for f in result.findings:
        if f.bureau_id is not None:
            per_bureau.setdefault(f.bureau_id, []).append(f)
        else:
            features.append(feature({"kind": "reference" if f.extra.get("commune") else "dataset",
                                     "check": f.check, "label": label(f.check), "severity": f.severity,
                                     "message": f.message,
                                     "commune": f.extra.get("commune"), "suggestion": f.suggestion},
                                    _point(f.lon, f.lat)))
    for bid, found in per_bureau.items():
        b = bureaux.get(bid)
        worst = min(found, key=lambda f: SEVERITY_RANK[f.severity]).severity
        props = {"kind": "bureau", "id": bid, "name": b.name if b else None, "address": b.address if b else None,
                 "code_insee": b.code_insee if b else None, "severity": worst,
                 "checks": sorted({f.check for f in found}),
                 "findings": [{"check": f.check, "label": label(f.check), "severity": f.severity, "message": f.message,
                               "distance_m": None if f.distance_m is None else round(f.distance_m, 1)} for f in found],
                 "suggestions": [f.suggestion for f in found if f.suggestion]}
        features.append(feature(props, _point(b.lon, b.lat) if b else None))
        for f in found:
            s = f.suggestion
            if s and "lon" in s:
                features.append(feature({"kind": "suggestion", "bureau_id": bid, "check": f.check,
                                         "reason": s.get("reason"), "source": s.get("source")},
                                        {"type": "Point", "coordinates": [s["lon"], s["lat"]]}))
    return dumps_collection(features)


# -- html -------------------------------------------------------------------------------------

@cache
def _leaflet() -> tuple[str, str]:
    """Leaflet's JS and CSS from the XStatic-Leaflet package, CSS images as data URIs."""
    from xstatic.pkg import leaflet

    base = Path(leaflet.BASE_DIR)
    js = (base / "leaflet.js").read_text(encoding="utf-8").replace("</script", "<\\/script")
    css = (base / "leaflet.css").read_text(encoding="utf-8")

    def inline(m: re.Match) -> str:
        path = base / m.group(1)
        if not path.is_file():
            return m.group(0)
        return "url(data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii") + ")"

    css = re.sub(r"url\((images/[^)]+\.png)\)", inline, css)
    return js, css


def _map_data(result: ValidationResult, settings: Settings | None) -> dict:
    bureaux = {b.id: b for b in result.bureaux}
    points, codes = [], set()
    per_bureau: dict[str, list[int]] = {}
    for k, f in enumerate(result.findings):
        if f.bureau_id is not None:
            per_bureau.setdefault(f.bureau_id, []).append(k)
            codes.update(c for c in (f.extra.get("code_insee"), f.extra.get("falls_in")) if c)
        else:
            if f.extra.get("commune"):
                codes.add(f.extra["commune"])
            if f.severity == "error":  # communes no bureau serves: outlined, a few only
                codes.update(f.extra.get("communes", [])[:MAX_OUTLINED])
            if _plausible(f.lon, f.lat):
                points.append({"kind": "reference", "severity": f.severity, "severities": [f.severity],
                               "lon": f.lon, "lat": f.lat,
                               "title": f"Référence {f.extra.get('nom', '')} ({f.extra.get('commune', '')})",
                               "lines": [f.message], "findings": [k]})
    for bid, ks in per_bureau.items():
        b = bureaux.get(bid)
        found = [result.findings[k] for k in ks]
        worst = min(found, key=lambda f: SEVERITY_RANK[f.severity]).severity
        here = b is not None and _plausible(b.lon, b.lat)
        if here:
            points.append({"kind": "bureau", "severity": worst, "severities": sorted({f.severity for f in found}),
                           "lon": b.lon, "lat": b.lat,
                           "title": f"{bid} — {b.name}", "lines": [f"[{label(f.check)}] {f.message}" for f in found],
                           "findings": ks})
        for k, f in zip(ks, found, strict=True):
            s = f.suggestion
            if s and "lon" in s and _plausible(s["lon"], s["lat"]):
                points.append({"kind": "suggestion", "severity": f.severity, "severities": [f.severity],
                               "lon": s["lon"], "lat": s["lat"],
                               "title": f"Position suggérée pour {bid}", "lines": [s.get("reason", "")],
                               "from": [b.lon, b.lat] if here else None,
                               "findings": [] if here else [k]})
    position = {c.code: i for i, c in enumerate(result.communes)}
    outlines = []
    for code in sorted(codes):
        i = position.get(code)
        if i is not None and i < len(result.commune_geometries):
            c = result.communes[i]
            outlines.append(feature({"code": c.code, "nom": c.nom}, geometry_to_geojson(result.commune_geometries[i], 5)))
    # Every commune of the bureaux' départements as a faint background (the map has no
    # tiles offline); 1e-4 degree (~10 m) is plenty for a background line.
    deps = {c.departement for c in result.communes if c.code in {b.code_insee for b in result.bureaux}}
    background = [feature({"code": c.code, "nom": c.nom}, geometry_to_geojson(result.commune_geometries[i], 4))
                  for i, c in enumerate(result.communes)
                  if c.departement in deps and c.code not in codes and i < len(result.commune_geometries)]
    tiles = None
    if settings is not None and settings.tiles_url:
        tiles = {"url": settings.tiles_url, "attribution": settings.tiles_attribution}
    return {"points": points, "communes": {"type": "FeatureCollection", "features": outlines},
            "background": {"type": "FeatureCollection", "features": background}, "tiles": tiles}


def render_html(result: ValidationResult, *, settings: Settings | None = None) -> str:
    import jinja2

    source = resources.files("locator.validation").joinpath("templates/report.html").read_text(encoding="utf-8")
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    js, css = _leaflet()
    map_json = json.dumps(_map_data(result, settings), ensure_ascii=False, separators=(",", ":"))
    return env.from_string(source).render(
        summary=result.summary(),
        headline=headline(result),
        label=label,
        by_check=result.summary()["by_check_severity"],
        findings=result.findings,
        corrections=[a.correction for a in result.applied],
        inputs={"bureaux": None, "corrections": None, **result.inputs},
        severity_labels=SEVERITY_LABELS,
        generated=dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        leaflet_js=js,
        leaflet_css=css,
        map_data=map_json.replace("</", "<\\/"),
    )
