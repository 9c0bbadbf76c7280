"""Attestations de présence, sealed by the platform and checked online."""
