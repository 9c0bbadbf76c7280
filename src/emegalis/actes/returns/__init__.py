"""Returns: archives from the ministry (HTTP endpoint, mailbox), each message applied through a
table from message type to handler."""
