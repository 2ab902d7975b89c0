"""The firewall rules shareguard ships with: no agreement can override them."""

from __future__ import annotations

from shareguard.policy.cedar import FirewallTerms

DEFAULT_FIREWALL: tuple[FirewallTerms, ...] = (
    FirewallTerms(
        key="pupil-data",
        title="Pupil data is never used for immigration enforcement",
        categories=("pupil",),
        data_items=("school_census",),
        sources=("school",),
    ),
    FirewallTerms(
        key="health-care",
        title="Health-care records are never used for immigration enforcement",
        categories=("patient",),
        data_items=("health_record",),
        sources=("nhs_body",),
    ),
    FirewallTerms(
        key="victims-witnesses",
        title="Victims and witnesses of crime are never reported for immigration enforcement",
        categories=("victim", "witness"),
        data_items=("crime_report",),
    ),
)

DESCRIPTIONS: dict[str, str] = {
    "pupil-data": "School census data and data about pupils gathered by schools "
    "(nationality, country of birth, address) are never disclosed for immigration enforcement, "
    "whichever way they would flow.",
    "health-care": "Records made in giving health care, and anything an NHS body holds, are "
    "never disclosed for immigration enforcement, whichever way they would flow.",
    "victims-witnesses": "Data about victims and witnesses gathered when they report a crime "
    "is never disclosed for immigration enforcement, whoever would send it.",
}
