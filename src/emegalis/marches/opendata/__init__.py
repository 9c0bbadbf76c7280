"""Open data: DECP v2 and OCDS. The award stage checks a contract's DECP fields with `decp` and
its closed lists in `decp_vocabulary`."""

__all__ = ["selectors", "decp", "decp_vocabulary", "ocds"]
