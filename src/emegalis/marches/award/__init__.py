"""Award: criteria, analysis of the offers, decision, letters, notification, contracts."""
