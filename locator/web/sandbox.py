"""Fixed fake answers for ``/api/v1/sandbox/lookup``, for people building on the API.

These are deliberately hard-coded FAKES: a fictional commune (« Exempleville », code 99999)
and fictional bureaux, so a client can exercise every status and HTTP code without the real
data, without a geocoder and without spending the rate limit of the real endpoint. The
shapes are the real ``LookupResult`` contract (the tests check both against one schema).

``q`` picks the answer (case-insensitive): ``ok`` (also any other text), ``nearest``,
``ambiguous``, ``not_found``, ``outside_coverage``, ``invalid`` (also an empty ``q``) and
``unavailable`` (a 503 with ``Retry-After``).
"""

from __future__ import annotations

from ..errors import GeocoderUnavailable
from ..lookup.messages import say, where
from ..lookup.outcome import LookupResult, PlaceCandidate, Status, warning
from ..models import Bureau, Commune, GeocodedPoint

_COMMUNE = Commune(code="99999", nom="Exempleville", departement="99", codes_postaux=("99000",),
                   mairie_lon=6.0, mairie_lat=49.0, mairie_adresse="1 place de la Mairie, 99000 Exempleville",
                   mairie_telephone="01 23 45 67 89", mairie_horaires="du lundi au vendredi : 09h00–12h00")
_BUREAU_1 = Bureau(id="99999_1", name="École des Exemples", address="2 rue de l'Exemple, 99000 Exempleville",
                   code_insee="99999", communes_served=("99999",), lon=6.001, lat=49.001,
                   location_source="manual")
_BUREAU_2 = Bureau(id="99999_2", name="Salle des fêtes", address="8 avenue Fictive, 99000 Exempleville",
                   code_insee="99999", communes_served=("99999",), lon=6.01, lat=49.005,
                   location_source="manual")
_HOUSE = GeocodedPoint(label="3 rue de l'Exemple 99000 Exempleville", lon=6.0015, lat=49.0012, type="housenumber",
                       score=0.97, citycode="99999", postcode="99000", source="sandbox")
_STREET = GeocodedPoint(label="Rue de l'Exemple 99000 Exempleville", lon=6.002, lat=49.0015, type="street",
                        score=0.81, citycode="99999", postcode="99000", source="sandbox")


def _answers(q: str) -> LookupResult:
    """The engine's own result classes and sentences, filled with the fictional data."""
    key = q.strip().lower().replace("-", "_").replace(" ", "_")
    nom = _COMMUNE.nom
    if key in ("", "invalid"):
        return LookupResult(status=Status.INVALID, query=q or None,
                            message="La recherche n'est pas valide : saisissez une adresse ou une commune.")
    if key == "unavailable":
        raise GeocoderUnavailable("sandbox: simulated outage")
    if key == "not_found":
        return LookupResult(status=Status.NOT_FOUND, query=q, message=say("not_found"))
    if key == "outside_coverage":
        return LookupResult(status=Status.OUTSIDE_COVERAGE, query=q, commune=_COMMUNE, mairie=_COMMUNE.mairie_contact(),
                            message=say("outside.commune_not_covered", commune=nom,
                                        tel=f" au {_COMMUNE.mairie_telephone}"))
    if key == "ambiguous":
        candidate = PlaceCandidate.of(_HOUSE, _HOUSE.citycode, _COMMUNE)
        return LookupResult(status=Status.AMBIGUOUS, query=q, commune=_COMMUNE, geocode=_STREET,
                            candidates=(candidate,), mairie=_COMMUNE.mairie_contact(),
                            message=say("ambiguous.need_housenumber", commune=nom, precision="de la rue"))
    if key == "nearest":
        return LookupResult(status=Status.OK, query=q, commune=_COMMUNE, bureau=_BUREAU_2, distance_m=612.4,
                            method="nearest_in_commune", geocode=_HOUSE,
                            warnings=(warning("nearest_in_commune", commune=nom),),
                            message=say("found.nearest_in_commune", commune=nom, where=where(_BUREAU_2)))
    return LookupResult(status=Status.OK, query=q, commune=_COMMUNE, bureau=_BUREAU_1, distance_m=48.2, method="area",
                        geocode=_HOUSE, message=say("found.area", commune=nom, where=where(_BUREAU_1)))


def sandbox_lookup(q: str | None) -> LookupResult:
    """The fake answer for ``q`` (raises ``GeocoderUnavailable`` for ``unavailable``)."""
    return _answers(q or "")
