"""Courriers: the prefecture's letters and the authority's replies. The returns stage tells the
agents of a letter's arrival through `notifications`."""

__all__ = ["models", "services", "selectors", "notifications"]
