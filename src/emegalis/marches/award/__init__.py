"""Award: criteria, analysis of the offers, decision, letters, notification, contracts.

The groupements app asks a member the essential data of its own marché with `forms`'s
ContractForm, the same questions as the salle des marchés' notification."""

__all__ = ["forms"]
