"""The lookup: outcomes (``outcome``), sentences (``messages``) and the address pipeline
(``text``). The point path and the tail both paths share are ``locator.service.Locator``."""

from .outcome import (
    CANDIDATE_TYPES,
    BureauCandidate,
    Candidate,
    CommuneCandidate,
    LookupResult,
    PlaceCandidate,
    ResultWarning,
    Status,
    error_result,
)

__all__ = [
    "CANDIDATE_TYPES",
    "BureauCandidate",
    "Candidate",
    "CommuneCandidate",
    "LookupResult",
    "PlaceCandidate",
    "ResultWarning",
    "Status",
    "error_result",
]
