"""Consultations: notices, lots, DCE, rectificatifs, retraits, questions, search and alerts, the
test consultation, companies' sign-up. Besides models, services and selectors, other stages and
apps may use the DCE writes and the test consultation."""

__all__ = ["models", "services", "selectors", "dce", "workstation"]
