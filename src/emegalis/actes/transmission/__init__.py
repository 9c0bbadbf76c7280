"""Transmission: the outgoing envelope and archive, the daily serial, the transport to the
ministry."""
