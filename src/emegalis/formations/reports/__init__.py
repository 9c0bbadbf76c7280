"""Satisfaction results and the activity reports of the formations service."""
