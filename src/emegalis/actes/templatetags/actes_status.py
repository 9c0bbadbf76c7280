from django import template

from emegalis.actes import status_words

register = template.Library()


@register.filter
def status_in_words(status) -> str:
    return status_words.words(int(status))


@register.filter
def status_explanation(status) -> str:
    return status_words.explanation(int(status))
