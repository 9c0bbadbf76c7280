"""Template tags of the award pages and panels (buyer panel, public award notice)."""

from django import template

from emegalis.marches import access
from emegalis.marches.award import selectors as award_selectors
from emegalis.marches.award.letters import mark as format_mark

register = template.Library()


@register.filter
def mark(value) -> str:
    """« 17,60 »: a mark or total on 20 with two decimals."""
    return format_mark(value)


@register.filter
def score_of(evaluation, criterion) -> str:
    """The mark of an evaluation for a criterion, two decimals."""
    if evaluation is None:
        return "—"
    return format_mark(evaluation.scores.get(str(criterion.pk)))


@register.simple_tag
def award_overview(consultation, user):
    """The award state per lot, for the buyer panel (empty for anyone else)."""
    if not access.is_buyer(user, consultation.organisation):
        return []
    return award_selectors.award_overview(consultation)


@register.simple_tag
def award_opened(consultation) -> bool:
    return award_selectors.opening_session(consultation) is not None


@register.simple_tag
def public_awards(consultation):
    """Notified contracts of a public consultation (the award notice)."""
    return list(award_selectors.public_awards(consultation))
