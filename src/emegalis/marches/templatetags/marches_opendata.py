"""Data of the buyer's open data panel (marches/_buyer_opendata_panel.html)."""

from django import template

from emegalis.marches.opendata import decp
from emegalis.marches.opendata import selectors as opendata_selectors

register = template.Library()


@register.simple_tag
def consultation_opendata(consultation, user) -> dict:
    """Whether the OCDS package is public, and the consultation's contracts (of the user's
    organisations only) with their DECP errors."""
    contracts = opendata_selectors.consultation_contracts(user, consultation)
    return {
        "is_public": consultation.is_public,
        "rows": [(c, decp.decp_errors(c)) for c in contracts],
    }
