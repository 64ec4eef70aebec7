"""Protocol-neutral fix-ups of Gemini requests and responses, applied by the gateway for every client.

Requests: clean tool JSON schemas to what the upstream accepts, make function names legal, re-attach
cached thought signatures, keep generation settings consistent. Responses: map function names back,
give every function call an id, remember thought signatures for the next turn.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.types import JSON


@dataclass
class NameMap:
    """Function names rewritten for the upstream, and how to map them back."""

    to_upstream: dict[str, str] = field(default_factory=dict)
    to_client: dict[str, str] = field(default_factory=dict)


class SignatureCache:
    """Bounded (max_entries, LRU) and expiring (ttl_s) cache of thought signatures keyed by function-call id,
    and by (conversation key, function name, canonical args) for clients that drop ids."""

    def __init__(self, max_entries: int = 10_000, ttl_s: float = 6 * 3600.0) -> None:
        raise NotImplementedError

    def remember(self, conversation_key: str | None, call: JSON, signature: str) -> None:
        """`call` is a Gemini functionCall object {name, args, id?}."""
        raise NotImplementedError

    def lookup(self, conversation_key: str | None, call: JSON) -> str | None:
        raise NotImplementedError


def clean_schema(schema: JSON) -> JSON:
    """Return a copy the upstream accepts: $ref/$defs/definitions inlined (recursion cut off safely),
    const -> one-value enum, $schema/$id/default/examples dropped (examples/default folded into the
    description), type lists like ["string","null"] -> type + nullable, unknown keys dropped."""
    raise NotImplementedError


def prepare_request(
    body: JSON, signatures: SignatureCache, conversation_key: str | None
) -> tuple[JSON, NameMap]:
    """The request as the upstream accepts it (a new dict; `body` is not changed)."""
    raise NotImplementedError


def restore_response(
    chunk: JSON, names: NameMap, signatures: SignatureCache, conversation_key: str | None
) -> JSON:
    """One response (or stream chunk) as the client should see it; remembers signatures."""
    raise NotImplementedError
