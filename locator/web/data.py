"""What the web serves besides lookups, from the loaded ``Locator``: the bureaux as GeoJSON
(built once at start-up) and every commune's outline and mairie contact (each made the first
time it is asked for, then kept: all of France's 35 000 outlines as GeoJSON took seconds
of the server's start-up and a hundred megabytes of every process, for the few communes a
page ever shows).

The bureaux features are immutable after ``WebData`` is built, so gunicorn workers forked
from a preloading master share them; a commune feature, once made, never changes.
"""

from __future__ import annotations

import re

from shapely.geometry import mapping

from ..data.departements import COMMUNE_CODE_RE as _COMMUNE_CODE
from ..data.geojson import bureau_feature
from ..errors import InvalidQuery
from .errors import UnknownResource

_BUREAU_ID = re.compile(r"^[\w.:-]{1,64}$")


def mairie_dict(commune) -> dict:
    return {
        "adresse": commune.mairie_adresse,
        "telephone": commune.mairie_telephone,
        "email": commune.mairie_email,
        "horaires": commune.mairie_horaires,
        "accessibilite": commune.mairie_accessibilite,
        "lon": commune.mairie_lon,
        "lat": commune.mairie_lat,
    }


class WebData:
    """The locator plus the GeoJSON documents the API serves, precomputed."""

    def __init__(self, locator):
        self.locator = locator
        self.bureau_features = {b.id: bureau_feature(b) for b in locator.bureaux}
        self.departements = tuple(sorted({c.departement for c in locator.communes}))
        # The outlines as the data folder has them (WGS84): nothing projected back and forth.
        self._outlines = dict(zip((c.code for c in locator.dataset.communes), locator.dataset.commune_geoms,
                                  strict=True))
        self._commune_features: dict[str, dict] = {}

    def _commune_feature(self, commune, geom) -> dict:
        outline = None if geom is None else mapping(geom)  # a commune published without an outline
        return {
            "type": "Feature",
            "id": commune.code,
            "geometry": outline,
            "properties": {
                "code": commune.code,
                "nom": commune.nom,
                "departement": commune.departement,
                "codes_postaux": list(commune.codes_postaux),
                "population": commune.population,
                "mairie": mairie_dict(commune),
                "bureaux": [b.summary() for b in self.locator.bureaux_serving(commune.code)],
            },
        }

    # -- look-ups by identifier (400 for a malformed one, 404 for an unknown one) -----------
    def bureaux_collection(self, commune_code: str | None = None) -> dict:
        if commune_code is None:
            features = list(self.bureau_features.values())
        else:
            self.commune_feature(commune_code)  # validates and 404s an unknown commune
            features = [self.bureau_features[b.id] for b in self.locator.bureaux_serving(commune_code)]
        return {"type": "FeatureCollection", "features": features}

    def bureau(self, bureau_id: str) -> dict:
        if not _BUREAU_ID.match(bureau_id):
            raise InvalidQuery("bad bureau id", public_message="Identifiant de bureau non valide.")
        feature = self.bureau_features.get(bureau_id)
        if feature is None:
            raise UnknownResource(public_message="Aucun bureau de vote ne porte cet identifiant.")
        return feature

    def commune_feature(self, code: str) -> dict:
        code = code.strip().upper()
        if not _COMMUNE_CODE.match(code):
            raise InvalidQuery("bad commune code",
                               public_message="Code commune non valide : 5 caractères, code INSEE (ex. 57463).")
        feature = self._commune_features.get(code)
        if feature is None:
            commune = self.locator.commune(code)
            if commune is None:
                raise UnknownResource(public_message="Cette commune n'est pas dans les données du service.")
            # idempotent: threads racing on one commune store equal features
            feature = self._commune_features.setdefault(code, self._commune_feature(commune, self._outlines[code]))
        return feature
