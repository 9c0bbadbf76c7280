"""Discussions of the workspaces: threads, replies, mentions, links to documents, e-mails
(immediate or a daily digest) and unread markers."""
