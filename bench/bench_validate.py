"""Benchmark of the bureaux validator; writes its section of BENCHMARKS.md.

    python -m bench.bench_validate [--seeds N]

* speed: validating the committed data (data/bureaux.geojson over data/communes/) after
  loading, target < 1 s without --regeocode; and a larger synthetic organisation;
* quality: the acceptance evaluation (tests/validation/synthetic.py) over several seeds:
  misplaced bureaux flagged, correct bureaux with an error / a warning, per kind of fault.
  Needs the shared data folder (LOCATOR_TEST_DATA or ../shared/data); skipped otherwise.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

from bench.report import write_section
from locator.communes import CommuneIndex
from locator.data.loader import communes_paths, load_bureaux, load_communes
from locator.validation import validate
from locator.validation.report import render

ROOT = Path(__file__).resolve().parent.parent


def _load_test_module(name: str):
    path = ROOT / "tests" / "validation" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _timed(fn, repeat: int):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def bench_committed(repeat: int) -> list[str]:
    data = ROOT / "data"
    t0 = time.perf_counter()
    communes = load_communes(communes_paths(data), strict=False)
    bureaux = load_bureaux(data / "bureaux.geojson", strict=False)
    t_files = time.perf_counter() - t0
    t_index, index = _timed(lambda: CommuneIndex(communes.communes, communes.geometries), 3)
    t_validate, result = _timed(lambda: validate(bureaux.bureaux, communes.communes, communes.geometries,
                                                 index=index), repeat)
    t_full, _ = _timed(lambda: validate(bureaux.bureaux, communes.communes, communes.geometries), 3)
    t_text, _ = _timed(lambda: render(result, "text"), 3)
    t_html, html = _timed(lambda: render(result, "html"), 3)
    s = result.summary()
    ok = "yes" if t_validate < 1.0 else "**NO**"
    return [
        "### Speed on the committed data",
        "",
        f"{s['bureaux']} bureaux over {s['communes']} communes, without `--regeocode` "
        f"({s['errors']} error, {s['warnings']} warnings, {s['infos']} infos). Median of {repeat} runs.",
        "",
        "| step | time |",
        "|---|---|",
        f"| read the GeoJSON files (lenient loader) | {t_files * 1000:.0f} ms |",
        f"| build the commune index (Lambert-93, STRtree) | {t_index * 1000:.0f} ms |",
        f"| **validate after loading** (references + {len(result.findings)} findings) | **{t_validate * 1000:.1f} ms** |",
        f"| validate including the index build | {t_full * 1000:.0f} ms |",
        f"| render text / html ({len(html) / 1024:.0f} KiB, Leaflet inlined) | {t_text * 1000:.1f} ms / {t_html * 1000:.0f} ms |",
        "",
        f"Target < 1 s after loading: {ok}.",
    ]


def bench_quality(shared: Path, seeds: int) -> list[str]:
    realdata = _load_test_module("realdata")
    synthetic = _load_test_module("synthetic")
    communes, geoms = realdata.moselle_and_neighbours(shared)
    index = CommuneIndex(communes, geoms)
    rows, per_fault = [], Counter()
    per_fault_total = Counter()
    reg_rows = []
    big = []
    for seed in range(1, seeds + 1):
        sc = synthetic.build_scenario(communes, geoms, seed=seed)
        t0 = time.perf_counter()
        result = validate(sc.bureaux, sc.communes, sc.geometries)
        elapsed = time.perf_counter() - t0
        ev = synthetic.evaluate(sc, result)
        rows.append((seed, ev, elapsed))
        for name, (hit, total) in ev["per_fault"].items():
            per_fault[name] += hit
            per_fault_total[name] += total
        big.extend(b for b in sc.bureaux)
        if seed <= 3:
            faults = synthetic.FAULTS + (("silent_move", synthetic.fault_silent_move),)
            sc2 = synthetic.build_scenario(communes, geoms, seed=seed, faults=faults)
            plain = synthetic.evaluate(sc2, validate(sc2.bureaux, sc2.communes, sc2.geometries))
            geocoder = synthetic.truth_geocoder(sc2, seed=seed)
            with_reg = synthetic.evaluate(sc2, validate(sc2.bureaux, sc2.communes, sc2.geometries,
                                                        geocoder=geocoder, rate_per_s=0))
            reg_rows.append((seed, plain, with_reg))

    def pct(x):
        return f"{100 * x:.1f} %"

    n_mis = sum(ev["misplaced"] for _, ev, _ in rows)
    n_cor = sum(ev["correct"] for _, ev, _ in rows)
    det = sum(ev["detected"] for _, ev, _ in rows) / n_mis
    err = sum(len(ev["correct_with_error"]) for _, ev, _ in rows) / n_cor
    warn = sum(len(ev["correct_with_warning"]) for _, ev, _ in rows) / n_cor
    ref_correct = sum(ev["correct_in_misplaced_reference_communes"] for _, ev, _ in rows)
    ref_err = sum(len(ev["errors_from_misplaced_references"]) for _, ev, _ in rows)
    ref_warn = sum(len(ev["warnings_from_misplaced_references"]) for _, ev, _ in rows)
    out = [
        "### Quality: synthetic Moselle organisation with 2017-like faults",
        "",
        f"Real Moselle communes, official mairie points and addresses (+ 54/67/88 neighbours), "
        f"{seeds} seeds (tests/validation/synthetic.py; the test runs seeds 2017, 57, 1871). "
        "Flagged = at least one error or warning on the bureau. Caveat: correct placements and faults are "
        "modelled on the same measurements as the thresholds (correct mairie bureaux up to 40 m from the real "
        "mairie, the 2017 house 100–400 m away), so these rates show that the checks do what they are meant "
        "to; the sensitivity table and the real-data tests (tests/validation/test_realdata.py) bound them.",
        "",
        "| seed | bureaux | misplaced | flagged | correct with error | correct with warning | validate |",
        "|---|---|---|---|---|---|---|",
    ]
    for seed, ev, elapsed in rows:
        out.append(f"| {seed} | {ev['bureaux']} | {ev['misplaced']} | {pct(ev['detection_rate'])} | "
                   f"{pct(ev['correct_error_rate'])} | {pct(ev['correct_warning_rate'])} | {elapsed * 1000:.0f} ms |")
    out += [
        f"| **all** | {n_mis + n_cor} | {n_mis} | **{pct(det)}** (target ≥ 98 %) | **{pct(err)}** (≤ 1 %) | "
        f"**{pct(warn)}** (≤ 5 %) | |",
        "",
        f"Correct bureaux in communes whose official mairie point was misplaced on purpose: {ref_correct}; "
        f"errors among them: **{ref_err}** (target 0); warnings: {ref_warn} (almost all from references moved "
        "*inside* their commune, which no reference check can see).",
        "",
        "| fault | flagged / total |",
        "|---|---|",
    ]
    for name in sorted(per_fault_total):
        out.append(f"| {name} | {per_fault[name]} / {per_fault_total[name]} |")
    out += [
        "",
        "With `--regeocode` (a geocoder that knows every address 2–15 m off), adding bureaux moved "
        "200–600 m inside their own commune with a perfect-looking geocode (`silent_move`):",
        "",
        "| seed | flagged without / with | silent moves without / with | correct with error | correct with warning |",
        "|---|---|---|---|---|",
    ]
    for seed, plain, with_reg in reg_rows:
        sm0, sm1 = plain["per_fault"].get("silent_move", (0, 0)), with_reg["per_fault"].get("silent_move", (0, 0))
        out.append(f"| {seed} | {pct(plain['detection_rate'])} / {pct(with_reg['detection_rate'])} | "
                   f"{sm0[0]}/{sm0[1]} / {sm1[0]}/{sm1[1]} | {pct(with_reg['correct_error_rate'])} | "
                   f"{pct(with_reg['correct_warning_rate'])} |")
    # sensitivity: mairie bureaux placed further from the official point (large town halls)
    out += ["", "Sensitivity to how far from the official point organisers place a correct mairie bureau "
                "(the scenario's default is up to 40 m; the warning threshold is 75 m):", "",
            "| correct mairie bureaux up to | correct with warning | correct with error |", "|---|---|---|"]
    for noise in (40.0, 60.0, 80.0, 100.0):
        warn_n = err_n = cor_n = 0
        for seed in range(1, min(seeds, 3) + 1):
            sc = synthetic.build_scenario(communes, geoms, seed=seed, mairie_noise_m=noise)
            ev = synthetic.evaluate(sc, validate(sc.bureaux, sc.communes, sc.geometries, index=None))
            warn_n += len(ev["correct_with_warning"])
            err_n += len(ev["correct_with_error"])
            cor_n += ev["correct"]
        out.append(f"| {noise:.0f} m | {pct(warn_n / cor_n)} | {pct(err_n / cor_n)} |")
    # scale: every seed's bureaux at once, ids made unique
    import dataclasses

    many = [dataclasses.replace(b, id=f"{k}:{b.id}") for k, b in enumerate(big)]
    t_big, result = _timed(lambda: validate(many, communes, geoms, index=index), 1)
    out += ["", f"Scale: {len(many)} bureaux (all seeds together) validated in {t_big:.2f} s after loading "
                f"({len(result.findings)} findings)."]
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--no-write", action="store_true", help="print only, do not touch BENCHMARKS.md")
    args = parser.parse_args(argv)
    lines = ["## Validator (`locator validate`)", ""] + bench_committed(args.repeat)
    raw = os.environ.get("LOCATOR_TEST_DATA")
    shared = Path(raw) if raw else ROOT.parent / "shared" / "data"
    if shared.is_dir():
        lines += [""] + bench_quality(shared, args.seeds)
    else:
        lines += ["", f"_Quality evaluation skipped: no shared data folder at {shared}._"]
    body = "\n".join(lines)
    print(body)
    if not args.no_write:
        write_section("validate", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
