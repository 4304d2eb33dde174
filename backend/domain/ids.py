"""Time-sortable identifiers (ULID format), so key order is creation order."""

import secrets
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# What new_id produces; the API rejects anything else where an id is expected.
ID_PATTERN = r"^[0-9A-HJKMNP-TV-Z]{26}$"


def new_id() -> str:
    """48-bit millisecond timestamp + 80 random bits, as 26 Crockford base32 characters."""
    value = (time.time_ns() // 1_000_000) << 80 | secrets.randbits(80)
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))
