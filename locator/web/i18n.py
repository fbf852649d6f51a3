"""French first, English available: the interface strings of the page and the widget.

The language comes from the ``lang`` query or form field only (``fr`` by default), never
from a cookie, so a page is the same for everyone who opens the same link. The engine's
sentences (``LookupResult.message``, warnings) are French; in English the page says the same
sentence key with the same values (``locator.lookup.messages``), and shows an untranslated
French sentence with ``lang="fr"`` so screen readers switch voice.
"""

from __future__ import annotations

from ..lookup import messages

LANGS = ("fr", "en")
DEFAULT_LANG = "fr"

TEXT = {
    "fr": {
        "site_title": "Trouver mon bureau de vote",
        "skip": "Aller au contenu",
        "other_lang": "English",
        "other_lang_code": "en",
        "intro": "Saisissez votre adresse (numéro, rue et commune) ou le nom de votre commune : "
                 "nous vous indiquons votre bureau de vote.",
        "label_q": "Votre adresse ou votre commune",
        "hint_q": "Exemple : 1 place d'Armes, Metz",
        "search": "Rechercher",
        "suggestions": "Suggestions d'adresses",
        "suggestions_count": "{n} suggestions disponibles : flèches haut et bas pour choisir.",
        "no_suggestion": "Aucune suggestion.",
        "searching": "Recherche en cours…",
        "network_error": "La recherche n'a pas abouti (connexion interrompue ?). Réessayez.",
        "result": "Résultat",
        "your_bureau": "Votre bureau de vote",
        "probable_bureau": "Bureau le plus proche dans votre commune",
        "bureau_number": "Bureau n° {id}",
        "commune": "Commune",
        "distance_label": "Distance",
        "distance": "{d} à vol d'oiseau depuis l'adresse.",
        "directions": "Itinéraire",
        "walk": "à pied",
        "drive": "en voiture",
        "directions_note": "(OpenStreetMap, nouvel onglet)",
        "open_map_app": "Ouvrir dans mon application de cartes",
        "hours": "Horaires le jour du scrutin",
        "hours_default": "En général de 8 h à 18 h ; jusqu'à 20 h dans certaines villes. "
                         "L'heure exacte figure sur votre carte électorale.",
        "accessibility": "Accessibilité",
        "accessibility_unknown": "Non renseignée : appelez la mairie pour préparer votre venue.",
        "located_at": "Position du bureau",
        "location_source": {
            "mairie-annuaire": "adresse de la mairie (annuaire de l'administration)",
            "geocoded": "adresse géocodée",
            "manual": "placée à la main",
            "corrected": "position corrigée",
        },
        "what_we_found": "Adresse reconnue",
        "precision": {
            "housenumber": "au numéro près",
            "street": "à la rue près",
            "locality": "au lieu-dit près",
            "municipality": "à la commune près",
        },
        "warnings": "À vérifier",
        "mairie": "Contacter la mairie de {commune}",
        "mairie_plain": "Contacter la mairie",
        "mairie_address": "Adresse",
        "mairie_phone": "Téléphone",
        "mairie_email": "Courriel",
        "mairie_hours": "Horaires d'ouverture",
        "mairie_access": "Accessibilité (annuaire)",
        "access_codes": {
            "ACC": "bâtiment déclaré accessible",
            "DEM": "accès aménagé sur demande",
            "NAC": "accessibilité non déclarée",
        },
        "candidates": "Précisez votre recherche",
        "candidates_places": "Choisissez votre adresse dans la liste, ou ajoutez le numéro de la rue :",
        "candidates_bureaux": "Bureaux de vote de la commune (votre carte électorale indique le vôtre) :",
        "candidates_communes": "Plusieurs communes correspondent : choisissez la vôtre.",
        "recognised": "Ce que nous avons reconnu",
        "commune_recognised": "la commune de {commune}, pas votre adresse précise (la réponse vaut pour toute "
                              "la commune)",
        "bureau_unplaced": "non montrée sur la carte : rendez-vous à l'adresse indiquée",
        "rate_limited_help": "Ce service limite le nombre de recherches venant d'une même connexion. Un réseau "
                             "partagé (borne de la mairie, wifi public, opérateur mobile) compte pour tous ses "
                             "utilisateurs. Réessayez dans {seconds} secondes.",
        "position_denied": "Vous n'avez pas autorisé l'accès à votre position : saisissez votre adresse "
                           "dans le champ ci-dessus.",
        "choose": "Choisir",
        "add_number": "Ajoutez le numéro dans votre rue, puis relancez la recherche.",
        "not_found_tips": "Vérifiez l'orthographe, ajoutez le code postal ou le nom de la commune.",
        "coverage": "Ce service couvre : {deps}.",
        "departement": "département {code}",
        "map": "Carte : votre adresse, le bureau de vote et les limites de la commune",
        "map_legend_point": "Votre adresse",
        "map_legend_bureau": "Bureau de vote",
        "map_legend_commune": "Limites de la commune",
        "map_no_tiles": "Cette carte ne montre pas les rues : seulement les limites de la commune et "
                        "l'emplacement du bureau. Pour voir le trajet, utilisez les liens « Itinéraire ».",
        "map_no_tiles_outline": "Cette carte ne montre pas les rues : seulement les limites de la commune.",
        "data_note": "Données : limites communales IGN ADMIN EXPRESS (simplifiées), annuaire de "
                     "l'administration (DILA). Bureaux de vote d'exemple : vérifiez toujours sur "
                     "votre carte électorale.",
        "api_link": "API pour les développeurs",
        "integration_link": "Intégrer ce service sur votre site",
        "home_link": "Nouvelle recherche",
        "error_title": "Erreur",
        "retry_later": "Vous pouvez aussi appeler votre mairie, dont le numéro figure sur votre carte électorale.",
        "widget_full": "Ouvrir en grand (nouvel onglet)",
        "widget_dep": "Recherche limitée au {dep}.",
        "integration_title": "Intégrer la recherche de bureau de vote sur votre site",
        "use_my_position": "Utiliser ma position",
        "position_error": "Votre position n'a pas pu être obtenue.",
    },
    "en": {
        "site_title": "Find my polling station",
        "skip": "Skip to content",
        "other_lang": "Français",
        "other_lang_code": "fr",
        "intro": "Type your address (number, street and commune) or the name of your commune: "
                 "we tell you where your polling station (bureau de vote) is.",
        "label_q": "Your address or commune",
        "hint_q": "Example: 1 place d'Armes, Metz",
        "search": "Search",
        "suggestions": "Address suggestions",
        "suggestions_count": "{n} suggestions available: use the up and down arrows to choose.",
        "no_suggestion": "No suggestion.",
        "searching": "Searching…",
        "network_error": "The search failed (connection lost?). Please try again.",
        "result": "Result",
        "your_bureau": "Your polling station",
        "probable_bureau": "Nearest polling station in your commune",
        "bureau_number": "Station no. {id}",
        "commune": "Commune",
        "distance_label": "Distance",
        "distance": "{d} from the address, as the crow flies.",
        "directions": "Directions",
        "walk": "walking",
        "drive": "driving",
        "directions_note": "(OpenStreetMap, new tab)",
        "open_map_app": "Open in my maps app",
        "hours": "Opening hours on election day",
        "hours_default": "Usually 8 am to 6 pm; until 8 pm in some cities. "
                         "The exact time is on your voter card.",
        "accessibility": "Accessibility",
        "accessibility_unknown": "Not known: call the town hall (mairie) to prepare your visit.",
        "located_at": "Station position",
        "location_source": {
            "mairie-annuaire": "town hall address (official directory)",
            "geocoded": "geocoded address",
            "manual": "placed by hand",
            "corrected": "corrected position",
        },
        "what_we_found": "Address recognised",
        "precision": {
            "housenumber": "to the house number",
            "street": "to the street",
            "locality": "to the locality",
            "municipality": "to the commune only",
        },
        "warnings": "Please check",
        "mairie": "Contact the town hall (mairie) of {commune}",
        "mairie_plain": "Contact the town hall (mairie)",
        "mairie_address": "Address",
        "mairie_phone": "Phone",
        "mairie_email": "Email",
        "mairie_hours": "Opening hours",
        "mairie_access": "Accessibility (directory)",
        "access_codes": {
            "ACC": "building declared accessible",
            "DEM": "assisted access on request",
            "NAC": "accessibility not declared",
        },
        "candidates": "Please narrow your search",
        "candidates_places": "Choose your address from the list, or add the house number:",
        "candidates_bureaux": "Polling stations of the commune (your voter card shows yours):",
        "candidates_communes": "Several communes match: choose yours.",
        "recognised": "What we recognised",
        "commune_recognised": "the commune of {commune}, not your exact address (the answer holds for the "
                              "whole commune)",
        "bureau_unplaced": "not shown on the map: go to the address given",
        "rate_limited_help": "This service limits the number of searches from one connection. A shared network "
                             "(town hall terminal, public wifi, mobile operator) counts for all its users. Try "
                             "again in {seconds} seconds.",
        "position_denied": "You did not allow access to your location: type your address in the field above.",
        "choose": "Choose",
        "add_number": "Add your house number, then search again.",
        "not_found_tips": "Check the spelling, add the postcode or the name of the commune.",
        "coverage": "This service covers: {deps}.",
        "departement": "département {code}",
        "map": "Map: your address, the polling station and the commune boundary",
        "map_legend_point": "Your address",
        "map_legend_bureau": "Polling station",
        "map_legend_commune": "Commune boundary",
        "map_no_tiles": "This map does not show streets: only the commune boundary and where the polling "
                        "station is. For the way there, use the “Directions” links.",
        "map_no_tiles_outline": "This map does not show streets: only the commune boundary.",
        "data_note": "Data: IGN ADMIN EXPRESS commune boundaries (simplified), official French "
                     "administration directory (DILA). Example polling stations: always check your "
                     "voter card.",
        "api_link": "API for developers",
        "integration_link": "Embed this service on your website",
        "home_link": "New search",
        "error_title": "Error",
        "retry_later": "You can also call your town hall (mairie); its number is on your voter card.",
        "widget_full": "Open full page (new tab)",
        "widget_dep": "Search limited to {dep}.",
        "integration_title": "Embed the polling-station search on your website",
        "use_my_position": "Use my location",
        "position_error": "Your location could not be obtained.",
    },
}

def pick_lang(value) -> str:
    return value if value in LANGS else DEFAULT_LANG


def translate(lang: str, key: str, **params):
    value = TEXT[pick_lang(lang)][key]
    return value.format(**params) if params and isinstance(value, str) else value


def format_distance(metres: float | None, lang: str) -> str | None:
    if metres is None:
        return None
    if metres < 1000:
        return f"{round(metres / 10) * 10:.0f} m"
    km = f"{metres / 1000:.1f}"
    return f"{km.replace('.', ',') if lang == 'fr' else km} km"


def result_sentence(result, lang: str) -> tuple[str, str]:
    """The main sentence of a result and its language (``fr`` when not translated): the
    sentence's key and values said in ``lang`` (``locator.lookup.messages``)."""
    if lang == "fr":
        return result.message, "fr"
    key = result.message_key
    if key is not None and messages.has(key, lang):
        return messages.say(key, lang, **dict(result.message_params)), lang
    status_key = f"status.{result.status}"
    if messages.has(status_key, lang):
        return messages.say(status_key, lang), lang
    return result.message, "fr"


def warning_sentence(warning, lang: str) -> tuple[str, str]:
    key = f"warning.{warning.code}"
    if lang != "fr" and messages.has(key, lang):
        return messages.say(key, lang, **dict(warning.params)), lang
    return warning.message, "fr"
