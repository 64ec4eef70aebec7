"""Identifiers the gateway makes per request and per reply (request ids, completion ids, tool-call ids).

They must be unique, not secret: none of them guards anything. `uuid.uuid4()` reads the system's random
source (a system call) and builds a UUID object for each, which was a few per cent of the gateway's time at
full load (bench/bench_gateway.py); the random module's generator (seeded from the system at start and
again after a fork) gives the same 122 random bits without either.
"""

from __future__ import annotations

import random


def random_hex(digits: int = 32) -> str:
    """`digits` random lowercase hex digits."""
    return f"{random.getrandbits(digits * 4):0{digits}x}"


def random_uuid() -> str:
    """A random (version 4, RFC 9562 variant) UUID in its usual text form."""
    bits = random.getrandbits(128)
    bits = (bits & ~(0xF000 << 64)) | (0x4000 << 64)  # version 4
    bits = (bits & ~(0xC000 << 48)) | (0x8000 << 48)  # variant 10xx
    text = f"{bits:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
