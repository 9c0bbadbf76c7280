"""Acts: classification, an act created, checked, confirmed, published, cancelled; the act pages.
The S²LOW-style API serves the stamped PDF through `stamp`."""

__all__ = ["models", "services", "selectors", "stamp"]
