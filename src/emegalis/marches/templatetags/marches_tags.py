from django import template

from emegalis.marches import conf, cpv

register = template.Library()


@register.filter
def human_size(value) -> str:
    try:
        return conf.human_size(int(value))
    except (TypeError, ValueError):
        return ""


@register.filter
def cpv_label(code: str) -> str:
    text = cpv.label(code)
    return f"{code} — {text}" if text else code
