"""Opening: the commission and its member keys, the key ceremony, the opening session, PVs and
late plis. `member_side` is the member's side of the share hand-over in Python (demo, benches)."""

__all__ = ["models", "services", "selectors", "member_side"]
