from django import template

register = template.Library()


@register.filter
def get_item(mapping, key):
    """mapping[key] in a template (a QueryDict or a dict keyed by id or by « q-<id> »)."""
    if mapping is None:
        return None
    if hasattr(mapping, "getlist"):
        return mapping.get(f"q-{key}", "")
    return mapping.get(key)
