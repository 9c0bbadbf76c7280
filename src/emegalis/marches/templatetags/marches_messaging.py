"""Template tags of the secure messaging: the panels' counts and the read receipt text."""

from django import template

from emegalis.marches.messaging import selectors as messaging_selectors

register = template.Library()


@register.simple_tag
def buyer_unread_messages(user, consultation) -> int:
    """Replies from bidders not yet opened by the consultation's buyers."""
    return messaging_selectors.buyer_unread_count(user, consultation)


@register.simple_tag
def bidder_count(consultation) -> int:
    return messaging_selectors.bidders(consultation).count()


@register.simple_tag
def company_unread_messages(user) -> int:
    """Messages from buyers not yet opened by the user's companies."""
    return messaging_selectors.company_unread_count(user)


@register.filter
def read_receipt(message) -> str:
    """« Lu le 03/12/2026 à 10:12 par x@y » or « Non lu »."""
    return messaging_selectors.receipt_text(message)
