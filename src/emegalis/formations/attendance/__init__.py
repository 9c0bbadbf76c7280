"""Attendance: the feuille d'émargement of each half-day."""
