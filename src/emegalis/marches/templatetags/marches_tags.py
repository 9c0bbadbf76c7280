from django import template

from emegalis.marches import conf
from emegalis.marches.consultations import cpv

register = template.Library()


@register.filter
def human_size(value) -> str:
    try:
        return conf.human_size(int(value))
    except (TypeError, ValueError):
        return ""


@register.filter
def exact_size(value) -> str:
    try:
        return conf.exact_size(int(value))
    except (TypeError, ValueError):
        return ""


@register.filter
def cpv_label(code: str) -> str:
    text = cpv.label(code)
    return f"{code} — {text}" if text else code


@register.filter
def euros(value) -> str:
    """« 480 000,00 € » (French notation)."""
    from emegalis.core.pdf import format_euros

    if value is None or value == "":
        return "—"
    return format_euros(value)
