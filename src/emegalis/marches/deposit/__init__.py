"""Deposit: plis, their sealed segments, receipts, abandon, the upload (page and API). The
opening stage reads the segments through `storage`."""

__all__ = ["models", "services", "selectors", "storage"]
