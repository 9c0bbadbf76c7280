"""Calendars of the workspaces: events, invitations by e-mail with an iCalendar attachment,
subscription feeds on secret URLs."""
