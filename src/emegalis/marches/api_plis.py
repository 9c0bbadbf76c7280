"""Deposit of plis by API (companies' tools), mounted under /api/v1/marches/."""

from ninja import Router

router = Router(tags=["dépôt des plis"])
