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
from ..models import Bureau, Commune, GeocodedPoint, LookupResult, ResultWarning

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
    key = q.strip().lower().replace("-", "_").replace(" ", "_")
    if key in ("", "invalid"):
        return LookupResult(status="invalid", query=q or None,
                            message="La recherche n'est pas valide : saisissez une adresse ou une commune.")
    if key == "unavailable":
        raise GeocoderUnavailable("sandbox: simulated outage")
    if key == "not_found":
        return LookupResult(status="not_found", query=q,
                            message="Adresse introuvable. Vérifiez l'orthographe ou indiquez la commune.")
    if key == "outside_coverage":
        return LookupResult(status="outside_coverage", query=q, commune=_COMMUNE, mairie=_COMMUNE.mairie_contact(),
                            message="Aucun bureau de vote de ce service ne couvre Exempleville. "
                                    "Renseignez-vous auprès de la mairie au 01 23 45 67 89.")
    if key == "ambiguous":
        candidate = {"kind": "address", "label": _HOUSE.label, "lon": _HOUSE.lon, "lat": _HOUSE.lat,
                     "type": "housenumber", "citycode": "99999"}
        return LookupResult(status="ambiguous", query=q, commune=_COMMUNE, geocode=_STREET,
                            candidates=(candidate,), mairie=_COMMUNE.mairie_contact(),
                            message="Plusieurs bureaux de vote servent Exempleville : indiquez le numéro dans la rue.")
    if key == "nearest":
        return LookupResult(status="ok", query=q, commune=_COMMUNE, bureau=_BUREAU_2, distance_m=612.4,
                            method="nearest_in_commune", geocode=_HOUSE,
                            warnings=(ResultWarning("nearest_in_commune",
                                                    "Bureau le plus proche parmi ceux d'Exempleville, faute de "
                                                    "découpage officiel : vérifiez sur votre carte électorale."),),
                            message="Plusieurs bureaux de vote servent Exempleville et nous n'avons pas leur "
                                    "découpage : le plus proche de cette adresse est Salle des fêtes.")
    return LookupResult(status="ok", query=q, commune=_COMMUNE, bureau=_BUREAU_1, distance_m=48.2, method="area",
                        geocode=_HOUSE,
                        message="Votre bureau de vote : École des Exemples, 2 rue de l'Exemple, 99000 Exempleville "
                                "(Exempleville).")


def sandbox_lookup(q: str | None) -> LookupResult:
    """The fake answer for ``q`` (raises ``GeocoderUnavailable`` for ``unavailable``)."""
    return _answers(q or "")
