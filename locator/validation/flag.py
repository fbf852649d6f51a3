"""What a check returns: a ``Flag`` (severity, message, ...) that the runner turns into a
``Finding`` by adding the check's name and the bureau. Checks never raise for bad records."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..models import Bureau, Finding

ERROR, WARNING, INFO = "error", "warning", "info"
SEVERITIES = (ERROR, WARNING, INFO)
SEVERITY_RANK = {ERROR: 0, WARNING: 1, INFO: 2}


@dataclass(frozen=True)
class Flag:
    severity: str
    message: str
    distance_m: float | None = None
    #: ``{"lon", "lat", "reason", "source"}`` when a better point is known; may also carry
    #: other fields (``code_insee``) when the fix is not a point.
    suggestion: dict | None = None
    extra: dict = field(default_factory=dict)
    #: The point the finding is about; defaults to the bureau's stored point.
    lon: float | None = None
    lat: float | None = None
    #: Reference checks only: the official mairie point must not be used.
    rejects: bool = False

    def to_finding(self, check: str, bureau: Bureau | None = None) -> Finding:
        lon, lat = self.lon, self.lat
        if lon is None and lat is None and bureau is not None:
            lon, lat = bureau.lon, bureau.lat
        extra = dict(self.extra)
        if bureau is not None:
            extra.setdefault("code_insee", bureau.code_insee)
            extra.setdefault("name", bureau.name)
        return Finding(
            bureau_id=None if bureau is None else bureau.id,
            check=check,
            severity=self.severity,
            message=self.message,
            lon=lon,
            lat=lat,
            distance_m=self.distance_m,
            suggestion=self.suggestion,
            extra=extra,
        )


def suggestion(lon: float, lat: float, reason: str, source: str, **more) -> dict:
    """A suggested point, rounded like the data files (1e-7 degree)."""
    return {"lon": round(float(lon), 7), "lat": round(float(lat), 7), "reason": reason, "source": source, **more}


def metres(d: float) -> str:
    """A distance for a French sentence: "85 m", "1,6 km"."""
    if d < 1000:
        return f"{round(d)} m"
    return f"{d / 1000:.1f} km".replace(".", ",")
