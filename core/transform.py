"""Protocol-neutral fix-ups of Gemini requests and responses, applied by the gateway for every client.

Requests: clean tool JSON schemas to what the upstream accepts, make function names legal, re-attach
cached thought signatures, keep generation settings consistent. Responses: map function names back,
give every function call an id, remember thought signatures for the next turn.

Inputs are expected in Gemini's camelCase form (protocol adapters normalise snake_case first).

Decisions worth knowing:
- A `functionCall` in a `model` turn that has no `thoughtSignature` and none in the cache (after a restart,
  from a client that rewrote its history, an imported conversation) gets Google's documented placeholder
  `skip_thought_signature_validator` on Gemini 3 models, which refuse unsigned calls; elsewhere it is sent
  as is (see `fill_missing_signatures`).
- `googleSearch` / `googleSearchRetrieval` / `urlContext` are dropped when the same request declares
  functions: the upstream refuses the combination, and the client's own functions matter more to it.
- Function declarations repeating an earlier name are dropped (the upstream refuses duplicates).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from core.types import JSON

# ---------------------------------------------------------------------------------------------------------
# Thought signatures


@dataclass
class NameMap:
    """Function names rewritten for the upstream, and how to map them back."""

    to_upstream: dict[str, str] = field(default_factory=dict)
    to_client: dict[str, str] = field(default_factory=dict)
    # Upstream names of functions whose parameters got the placeholder property: its value is not the client's.
    with_placeholder: set[str] = field(default_factory=set)


def _canonical_args(call: JSON) -> str:
    """Arguments as canonical JSON, so a client that re-serialises them still finds the same key."""
    args = call.get("args")
    return json.dumps(args if args is not None else {}, sort_keys=True, separators=(",", ":"), default=str)


class SignatureCache:
    """Bounded (max_entries, LRU) and expiring (ttl_s) cache of thought signatures keyed by function-call id,
    and by (conversation key, function name, canonical args) for clients that drop ids."""

    def __init__(
        self,
        max_entries: int = 10_000,
        ttl_s: float = 6 * 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_entries = max(1, max_entries)
        self._ttl_s = ttl_s
        self._clock = clock
        # key -> (expires at, signature); oldest-used first.
        self._entries: OrderedDict[tuple[str, ...], tuple[float, str]] = OrderedDict()
        # signature -> the model family that made it (signature_family), newest last; bounded like _entries.
        self._origins: OrderedDict[str, str] = OrderedDict()

    def remember_origin(self, signature: str, family: str) -> None:
        """Which model family made a signature, so a conversation that moves to the other one drops it."""
        self._origins[signature] = family
        self._origins.move_to_end(signature)
        while len(self._origins) > self._max_entries:
            self._origins.popitem(last=False)

    def origin(self, signature: str) -> str | None:
        return self._origins.get(signature)

    def __len__(self) -> int:
        return len(self._entries)

    @staticmethod
    def _keys(conversation_key: str | None, call: JSON) -> Iterator[tuple[str, ...]]:
        call_id = call.get("id")
        if isinstance(call_id, str) and call_id:
            yield ("id", call_id)
        name = call.get("name")
        if isinstance(name, str):
            yield ("call", conversation_key or "", name, _canonical_args(call))

    def remember(self, conversation_key: str | None, call: JSON, signature: str) -> None:
        """`call` is a Gemini functionCall object {name, args, id?}."""
        now = self._clock()
        expires_at = now + self._ttl_s
        for key in self._keys(conversation_key, call):
            self._entries[key] = (expires_at, signature)
            self._entries.move_to_end(key)
        self._evict(now)

    def lookup(self, conversation_key: str | None, call: JSON) -> str | None:
        now = self._clock()
        for key in self._keys(conversation_key, call):
            entry = self._entries.get(key)
            if entry is None:
                continue
            expires_at, signature = entry
            if expires_at <= now:
                del self._entries[key]
                continue
            self._entries.move_to_end(key)
            return signature
        return None

    def _evict(self, now: float) -> None:
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
        # Entries expire in insertion order unless looked up since; clearing the stale head keeps memory
        # bounded by use without scanning the whole cache.
        while self._entries:
            key, (expires_at, _) = next(iter(self._entries.items()))
            if expires_at > now:
                break
            del self._entries[key]


# ---------------------------------------------------------------------------------------------------------
# JSON schema cleaning

_TYPES = frozenset({"string", "number", "integer", "boolean", "object", "array"})
# Gemini accepts `format` only with these values per type; others would fail the whole request.
_FORMATS: dict[str, frozenset[str]] = {
    "string": frozenset({"enum", "date-time"}),
    "number": frozenset({"float", "double"}),
    "integer": frozenset({"int32", "int64"}),
}
_INTEGER_KEYS = ("minItems", "maxItems", "minLength", "maxLength")
_NUMBER_KEYS = ("minimum", "maximum")
# What Cloud Code refuses in tool schemas (late 2026): length, pattern, format and range constraints. They are
# folded into the description there, e.g. "(minLength: 3, pattern: ^a)", so the model still reads them.
TOOL_CONSTRAINT_KEYS = (
    "minLength",
    "maxLength",
    "pattern",
    "format",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
)
# Claude under VALIDATED function calling refuses an object schema without properties; peers send this one.
PLACEHOLDER_PROPERTY = "reason"
PLACEHOLDER_SCHEMA: JSON = {
    "type": "string",
    "description": "Brief explanation of why you are calling this tool",
}
_MAX_REF_REPEATS = 2  # how often one $ref may be expanded along a single path before recursion is cut
_MAX_DEPTH = 48
_MAX_NODES = 20_000  # a hostile schema of mutually referencing definitions must not blow up
_CUT_OFF: JSON = {"type": "object"}


def _short_json(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 200 else text[:197] + "..."


def _with_hints(description: Any, hints: list[str]) -> str | None:
    text = description if isinstance(description, str) else ""
    if not hints:
        return text or None
    joined = "; ".join(hints)
    return f"{text} ({joined})" if text else joined


def _is_null_schema(branch: Any) -> bool:
    if not isinstance(branch, dict):
        return False
    if branch.get("type") == "null":
        return True
    return ("const" in branch and branch["const"] is None) or branch.get("enum") == [None]


class _SchemaCleaner:
    """Walks one schema document; `$ref`s are resolved against its root.

    `fold_constraints`: length/pattern/format/range keywords go into the description instead of the schema;
    `placeholder`: an object schema without properties gets PLACEHOLDER_PROPERTY (optional)."""

    def __init__(self, root: JSON, *, fold_constraints: bool = False, placeholder: bool = False) -> None:
        self._root = root
        self._nodes = 0
        self._fold = fold_constraints
        self._placeholder = placeholder

    def _resolve(self, ref: str) -> Any:
        if not ref.startswith("#"):
            return None  # remote refs cannot be fetched here
        node: Any = self._root
        for raw in ref[1:].split("/")[1:]:
            token = unquote(raw).replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and token in node:
                node = node[token]
            elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                node = node[int(token)]
            else:
                return None
        return node

    def clean(self, node: Any, depth: int, refs: tuple[str, ...]) -> JSON:
        self._nodes += 1
        if not isinstance(node, dict):
            return {}  # boolean schemas (true = anything) have no Gemini form; "any" is the closest
        if depth > _MAX_DEPTH or self._nodes > _MAX_NODES:
            return dict(_CUT_OFF)
        ref = node.get("$ref")
        if isinstance(ref, str):
            return self._clean_ref(node, ref, depth, refs)
        all_of = node.get("allOf")
        if isinstance(all_of, list) and len(all_of) == 1 and isinstance(all_of[0], dict):
            # pydantic wraps a described $ref as allOf:[{$ref}]; the wrapper's keys win over the target's.
            merged = {**all_of[0], **{k: v for k, v in node.items() if k != "allOf"}}
            return self.clean(merged, depth + 1, refs)
        return self._clean_plain(node, depth, refs)

    def _clean_ref(self, node: JSON, ref: str, depth: int, refs: tuple[str, ...]) -> JSON:
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        target = self._resolve(ref)
        if not isinstance(target, dict) or refs.count(ref) >= _MAX_REF_REPEATS:
            cut = dict(_CUT_OFF)
            description = siblings.get("description")
            if not isinstance(description, str) and isinstance(target, dict):
                description = target.get("description")
            if isinstance(description, str) and description:
                cut["description"] = description
            return cut
        merged = {**{k: v for k, v in target.items() if k not in ("$defs", "definitions")}, **siblings}
        return self.clean(merged, depth + 1, (*refs, ref))

    def _clean_plain(self, node: JSON, depth: int, refs: tuple[str, ...]) -> JSON:
        out: JSON = {}
        hints: list[str] = []
        types, type_nullable = self._types(node.get("type"))
        branch_nullable = self._copy_combinators(node, out, types, depth, refs)
        nullable = node.get("nullable") is True or type_nullable or branch_nullable

        if len(types) == 1:
            out["type"] = types[0]
        elif len(types) > 1:
            out["anyOf"] = [{"type": t} for t in types]

        self._copy_structure(node, out, depth, refs)
        self._copy_enum(node, out, hints)
        if self._fold:
            if folded := _folded_constraints(node):
                hints.insert(0, folded)
        else:
            self._copy_constraints(node, out, hints)
        hints.extend(_value_hints(node, exclusive_bounds=not self._fold))

        description = _with_hints(node.get("description", out.get("description")), hints)
        if description:
            out["description"] = description
        if isinstance(node.get("title"), str):
            out["title"] = node["title"]
        if "type" not in out and "anyOf" not in out and "oneOf" not in out and "allOf" not in out:
            inferred = self._infer_type(out)
            if inferred:
                out["type"] = inferred
        if nullable:
            out["nullable"] = True
        if self._placeholder and out.get("type") == "object" and not out.get("properties"):
            out["properties"] = {PLACEHOLDER_PROPERTY: dict(PLACEHOLDER_SCHEMA)}
        return out

    def _copy_combinators(
        self, node: JSON, out: JSON, types: list[str], depth: int, refs: tuple[str, ...]
    ) -> bool:
        """anyOf/oneOf without their null branches, and allOf; True when a null branch made the node nullable."""
        nullable = False
        for combinator in ("anyOf", "oneOf"):
            branches = node.get(combinator)
            if not isinstance(branches, list):
                continue
            kept = [b for b in branches if not _is_null_schema(b)]
            nullable = nullable or len(kept) < len(branches)
            if len(kept) == 1 and len(types) <= 1:
                # Optional[X]: X itself, described by this node.
                inner = self.clean(kept[0], depth + 1, refs)
                for key, value in inner.items():
                    out.setdefault(key, value)
            elif kept:
                out[combinator] = [self.clean(b, depth + 1, refs) for b in kept]
        all_of = node.get("allOf")
        if isinstance(all_of, list) and all_of:
            out["allOf"] = [self.clean(b, depth + 1, refs) for b in all_of]
        return nullable

    @staticmethod
    def _types(raw: Any) -> tuple[list[str], bool]:
        values = raw if isinstance(raw, list) else [raw] if isinstance(raw, str) else []
        types: list[str] = []
        nullable = False
        for value in values:
            if not isinstance(value, str):
                continue
            lowered = value.lower()
            if lowered == "null":
                nullable = True
            elif lowered in _TYPES and value not in types:
                types.append(value)
        return types, nullable

    def _copy_structure(self, node: JSON, out: JSON, depth: int, refs: tuple[str, ...]) -> None:
        properties = node.get("properties")
        if isinstance(properties, dict):
            out["properties"] = {
                str(name): self.clean(value, depth + 1, refs) for name, value in properties.items()
            }
        required = node.get("required")
        if isinstance(required, list) and isinstance(out.get("properties"), dict):
            kept = [
                name
                for name in dict.fromkeys(required)
                if isinstance(name, str) and name in out["properties"]
            ]
            if kept:
                out["required"] = kept
        items = node.get("items", node.get("prefixItems"))
        if isinstance(items, dict | bool):
            out["items"] = self.clean(items, depth + 1, refs)
        elif isinstance(items, list) and items:
            cleaned = [self.clean(item, depth + 1, refs) for item in items]
            out["items"] = cleaned[0] if len(cleaned) == 1 else {"anyOf": cleaned}
        extra = node.get("additionalProperties")
        if isinstance(extra, bool):
            out["additionalProperties"] = extra
        elif isinstance(extra, dict):
            out["additionalProperties"] = self.clean(extra, depth + 1, refs)

    @staticmethod
    def _copy_enum(node: JSON, out: JSON, hints: list[str]) -> None:
        values: list[Any] | None = None
        if isinstance(node.get("enum"), list):
            values = list(node["enum"])
        elif "const" in node:
            values = [node["const"]]
        if values is None:
            return
        if None in values:
            out["nullable"] = True
            values = [v for v in values if v is not None]
        if not values:
            return
        declared = out.get("type")
        if declared is None or str(declared).lower() == "string":
            # Gemini's enum is a list of strings on a string schema; anything else fails the request.
            out["enum"] = [v if isinstance(v, str) else _short_json(v) for v in values]
            if "anyOf" not in out and "oneOf" not in out:
                out.setdefault("type", "string")
        else:
            hints.append("allowed values: " + ", ".join(_short_json(v) for v in values))

    @staticmethod
    def _copy_constraints(node: JSON, out: JSON, hints: list[str]) -> None:
        for key in _INTEGER_KEYS:
            value = node.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                out[key] = value
        for key in _NUMBER_KEYS:
            value = node.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                out[key] = value
        if isinstance(node.get("pattern"), str):
            out["pattern"] = node["pattern"]
        fmt = node.get("format")
        if isinstance(fmt, str):
            allowed = _FORMATS.get(str(out.get("type", "")).lower(), frozenset())
            if fmt in allowed:
                out["format"] = fmt
            else:
                hints.append(f"format: {fmt}")

    @staticmethod
    def _infer_type(out: JSON) -> str | None:
        if "properties" in out or "additionalProperties" in out:
            return "object"
        if "items" in out:
            return "array"
        if "enum" in out or "pattern" in out or "minLength" in out or "maxLength" in out:
            return "string"
        return None


def clean_schema(schema: JSON, *, for_tools: bool = False, placeholder: bool = False) -> JSON:
    """Return a copy the upstream accepts: $ref/$defs/definitions inlined (recursion cut off safely),
    const -> one-value enum, $schema/$id/default/examples dropped (examples/default folded into the
    description), type lists like ["string","null"] -> type + nullable, unknown keys dropped.

    `for_tools` (function parameters): TOOL_CONSTRAINT_KEYS are folded into the description too, since
    Cloud Code refuses them there (structured output keeps them). `placeholder`: every object schema without
    properties gets an optional PLACEHOLDER_PROPERTY (Claude under VALIDATED refuses empty objects)."""
    cleaner = _SchemaCleaner(schema, fold_constraints=for_tools, placeholder=placeholder)
    return cleaner.clean(schema, 0, ())


def _folded_constraints(node: JSON) -> str:
    """ "minLength: 3, pattern: ^a" for the constraint keywords a schema node has (in a fixed order)."""
    found = [
        f"{key}: {_short_json(node[key])}"
        for key in TOOL_CONSTRAINT_KEYS
        if key in node and isinstance(node[key], str | int | float) and node[key] is not False
    ]
    return ", ".join(found)


# ---------------------------------------------------------------------------------------------------------
# Function names

_LEGAL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$")
_ILLEGAL_CHARS = re.compile(r"[^A-Za-z0-9_.:-]")
_MAX_NAME = 64


def _name_hash(name: str, salt: int = 0) -> str:
    return hashlib.sha256(f"{salt}:{name}".encode()).hexdigest()[:8]


def _legal_name(name: str) -> str:
    fixed = _ILLEGAL_CHARS.sub("_", name)
    if not fixed or not (fixed[0].isascii() and (fixed[0].isalpha() or fixed[0] == "_")):
        fixed = "_" + fixed
    if len(fixed) > _MAX_NAME:
        fixed = f"{fixed[: _MAX_NAME - 9]}_{_name_hash(name)}"
    return fixed


def _value_hints(node: JSON, *, exclusive_bounds: bool = True) -> list[str]:
    """Default, examples and exclusive bounds, which Gemini's schema has no field for, as description hints."""
    hints: list[str] = []
    if node.get("default") is not None:  # a null default says no more than `nullable`
        hints.append(f"default: {_short_json(node['default'])}")
    for key in ("examples", "example"):
        if key in node:
            examples = node[key] if isinstance(node[key], list) else [node[key]]
            hints.append("examples: " + ", ".join(_short_json(e) for e in examples[:5]))
    for key in ("exclusiveMinimum", "exclusiveMaximum") if exclusive_bounds else ():
        if isinstance(node.get(key), int | float) and not isinstance(node.get(key), bool):
            hints.append(f"{'greater' if key == 'exclusiveMinimum' else 'less'} than {node[key]}")
    return hints


def _unique_name(name: str, used: set[str]) -> str:
    candidate = _legal_name(name)
    salt = 0
    while candidate in used:
        salt += 1
        base = _legal_name(name)[: _MAX_NAME - 9]
        candidate = f"{base}_{_name_hash(name, salt)}"
    return candidate


def _function_names(body: JSON) -> Iterator[str]:
    """Every function name the request mentions, declarations first."""
    for tool in body.get("tools") or ():
        if isinstance(tool, dict):
            for declaration in tool.get("functionDeclarations") or ():
                if isinstance(declaration, dict) and isinstance(declaration.get("name"), str):
                    yield declaration["name"]
    for content in body.get("contents") or ():
        if isinstance(content, dict):
            yield from _called_names(content.get("parts") or ())
    calling = (body.get("toolConfig") or {}).get("functionCallingConfig") or {}
    for name in calling.get("allowedFunctionNames") or ():
        if isinstance(name, str):
            yield name


def _called_names(parts: Iterable[object]) -> Iterator[str]:
    """The function names a turn's calls and responses carry."""
    for part in parts:
        if not isinstance(part, dict):
            continue
        for key in ("functionCall", "functionResponse"):
            value = part.get(key)
            if isinstance(value, dict) and isinstance(value.get("name"), str):
                yield value["name"]


def _build_name_map(body: JSON) -> NameMap:
    names = list(dict.fromkeys(_function_names(body)))
    # Legal names keep themselves, so an illegal one is never renamed onto a name the client uses.
    used = {name for name in names if _LEGAL_NAME.match(name)}
    mapping = NameMap()
    for name in names:
        if name in used:
            continue
        fixed = _unique_name(name, used)
        used.add(fixed)
        mapping.to_upstream[name] = fixed
        mapping.to_client[fixed] = name
    return mapping


# ---------------------------------------------------------------------------------------------------------
# Requests

_SEARCH_TOOLS = ("googleSearch", "googleSearchRetrieval", "urlContext")
_OUTPUT_TOKEN_CAP = 64_000  # below every current model's output limit (Gemini 2.5: 65,536; Claude: 64,000)
_THINKING_HEADROOM = 4096  # room for the visible answer after the thinking budget is spent


def _prepare_tools(tools: Any, names: NameMap, placeholder: bool) -> list[JSON] | None:
    if not isinstance(tools, list):
        return None
    has_functions = any(isinstance(t, dict) and t.get("functionDeclarations") for t in tools)
    seen: set[str] = set()
    prepared: list[JSON] = []
    for tool in tools:
        if not isinstance(tool, dict):
            continue
        new_tool = {k: v for k, v in tool.items() if not (has_functions and k in _SEARCH_TOOLS)}
        declarations = tool.get("functionDeclarations")
        if isinstance(declarations, list):
            cleaned = [
                _prepare_declaration(d, names, seen, placeholder) for d in declarations if isinstance(d, dict)
            ]
            kept = [d for d in cleaned if d is not None]
            if kept:
                new_tool["functionDeclarations"] = kept
            else:
                new_tool.pop("functionDeclarations", None)
        if new_tool:
            prepared.append(new_tool)
    return prepared


def _prepare_declaration(declaration: JSON, names: NameMap, seen: set[str], placeholder: bool) -> JSON | None:
    name = declaration.get("name")
    if isinstance(name, str):
        if name in seen:
            return None
        seen.add(name)
    new = {k: v for k, v in declaration.items() if k != "parametersJsonSchema"}
    if isinstance(name, str):
        new["name"] = names.to_upstream.get(name, name)
    schema = declaration.get("parameters", declaration.get("parametersJsonSchema"))
    if isinstance(schema, dict):
        new["parameters"] = cleaned = clean_schema(schema, for_tools=True, placeholder=placeholder)
        if _has_property(cleaned, PLACEHOLDER_PROPERTY) and not _has_property(schema, PLACEHOLDER_PROPERTY):
            names.with_placeholder.add(str(new.get("name")))
    else:
        new.pop("parameters", None)
    return new


# Fields that carry a part's data (the upstream's `data` oneof); a part needs one of them.
_PART_DATA_FIELDS = (
    "text",
    "inlineData",
    "fileData",
    "functionCall",
    "functionResponse",
    "executableCode",
    "codeExecutionResult",
)


SKIP_SIGNATURE = "skip_thought_signature_validator"


def signature_family(model: str) -> str:
    """Whose thought signatures a model reads and writes: Claude's ("claude") or Gemini's ("gemini")."""
    return "claude" if "claude" in model.lower() else "gemini"


def drop_foreign_thoughts(body: JSON, family: str, signatures: SignatureCache) -> JSON:
    """The request without what the serving family would refuse after a conversation moved between Claude and
    Gemini: a thought part whose signature the other family made is dropped (its reasoning was for that
    model), a call or text keeps its part without that signature (Gemini 3 then gets the placeholder), and for
    Claude a thought part without any signature is dropped. Signatures of unknown origin stay. A shallow copy
    of what changes; `body` stays as it was."""
    return _map_model_parts(body, lambda part: _native_part(part, family, signatures))


def _map_model_parts(body: JSON, change: Callable[[Any], Any]) -> JSON:
    """The request with `change` applied to every part of every model turn (None leaves the part out, and a
    turn left without parts goes too): a shallow copy of what changes, `body` itself when nothing does."""
    contents = body.get("contents")
    if not isinstance(contents, list):
        return body
    changed = False
    kept_contents: list[Any] = []
    for content in contents:
        parts = content.get("parts") if isinstance(content, dict) and content.get("role") == "model" else None
        if not isinstance(parts, list):
            kept_contents.append(content)
            continue
        kept = [p for part in parts if (p := change(part)) is not None]
        if len(kept) != len(parts) or any(a is not b for a, b in zip(kept, parts, strict=True)):
            changed = True
            if kept:
                kept_contents.append({**content, "parts": kept})
        else:
            kept_contents.append(content)
    return {**body, "contents": kept_contents} if changed else body


def _native_part(part: Any, family: str, signatures: SignatureCache) -> Any:
    """The part as `family` takes it (see drop_foreign_thoughts); None to leave it out."""
    if not isinstance(part, dict):
        return part
    signature = part.get("thoughtSignature")
    foreign = isinstance(signature, str) and signature and signatures.origin(signature) not in (None, family)
    if part.get("thought"):
        if foreign or (family == "claude" and not signature):
            return None
        return part
    if foreign:
        return {k: v for k, v in part.items() if k != "thoughtSignature"}
    return part


def needs_object_placeholder(model: str) -> bool:
    """Claude models (under VALIDATED function calling) refuse tool schemas with an empty object."""
    return "claude" in model.lower()


def _has_property(schema: JSON, name: str) -> bool:
    properties = schema.get("properties")
    return isinstance(properties, dict) and name in properties


def needs_signed_calls(model: str) -> bool:
    """Gemini 3 models refuse a functionCall part without a thoughtSignature."""
    return model.lower().startswith("gemini-3")


def fill_missing_signatures(body: JSON) -> JSON:
    """The request with the placeholder signature on every model-turn call that has none (a shallow copy
    of what changes; the caller's body stays as it was)."""
    return _map_model_parts(body, _signed_call)


def _signed_call(part: Any) -> Any:
    if isinstance(part, dict) and "functionCall" in part and not part.get("thoughtSignature"):
        return {**part, "thoughtSignature": SKIP_SIGNATURE}
    return part


def _clean_part(part: JSON) -> JSON | None:
    """The part, or None when it carries nothing the upstream would accept."""
    has_data = any(key in part for key in _PART_DATA_FIELDS if key != "text") or bool(part.get("text"))
    if has_data:
        return part
    if part.get("thoughtSignature"):
        # A signature on an empty text ends some answers and must go back; the upstream needs the text key.
        return part if "text" in part else {**part, "text": ""}
    return None


def _prepare_part(
    part: JSON, role: Any, names: NameMap, signatures: SignatureCache, conversation_key: str | None
) -> JSON:
    call = part.get("functionCall")
    if isinstance(call, dict):
        new_part = dict(part)
        if role == "model" and not part.get("thoughtSignature"):
            signature = signatures.lookup(conversation_key, call)
            if signature:
                new_part["thoughtSignature"] = signature
        name = call.get("name")
        if isinstance(name, str) and name in names.to_upstream:
            new_part["functionCall"] = {**call, "name": names.to_upstream[name]}
        return new_part
    response = part.get("functionResponse")
    if isinstance(response, dict):
        name = response.get("name")
        if isinstance(name, str) and name in names.to_upstream:
            return {**part, "functionResponse": {**response, "name": names.to_upstream[name]}}
    return part


def _prepare_contents(
    contents: Any, names: NameMap, signatures: SignatureCache, conversation_key: str | None
) -> Any:
    if not isinstance(contents, list):
        return contents
    prepared: list[Any] = []
    for content in contents:
        if not isinstance(content, dict):
            prepared.append(content)
            continue
        parts = content.get("parts")
        if not isinstance(parts, list):
            prepared.append(content)
            continue
        role = content.get("role")
        new_parts = []
        for part in parts:
            kept = _clean_part(part) if isinstance(part, dict) else part
            if kept is not None:
                new_parts.append(_prepare_part(kept, role, names, signatures, conversation_key))
        if new_parts:
            prepared.append({**content, "parts": new_parts})
    return prepared


def _prepare_generation_config(config: JSON) -> JSON:
    new = dict(config)
    thinking = config.get("thinkingConfig")
    budget = thinking.get("thinkingBudget") if isinstance(thinking, dict) else None
    max_tokens = config.get("maxOutputTokens")
    if (
        isinstance(thinking, dict)
        and isinstance(budget, int)
        and isinstance(max_tokens, int)
        and budget > 0
        and max_tokens <= budget
    ):
        wanted = max(budget + _THINKING_HEADROOM, max_tokens)
        if wanted <= _OUTPUT_TOKEN_CAP:
            new["maxOutputTokens"] = wanted
        else:
            # A budget near the output cap would push maxOutputTokens past what any model allows;
            # shrink the budget instead so the answer still has room.
            new["maxOutputTokens"] = max(max_tokens, _OUTPUT_TOKEN_CAP)
            new["thinkingConfig"] = {
                **thinking,
                "thinkingBudget": new["maxOutputTokens"] - _THINKING_HEADROOM,
            }
    schema = config.get("responseSchema")
    if isinstance(schema, dict):
        new["responseSchema"] = clean_schema(schema)
    return new


def _prepare_tool_config(tool_config: JSON, names: NameMap) -> JSON:
    calling = tool_config.get("functionCallingConfig")
    if not isinstance(calling, dict) or not names.to_upstream:
        return tool_config
    allowed = calling.get("allowedFunctionNames")
    if not isinstance(allowed, list):
        return tool_config
    renamed = [names.to_upstream.get(n, n) if isinstance(n, str) else n for n in allowed]
    return {**tool_config, "functionCallingConfig": {**calling, "allowedFunctionNames": renamed}}


def prepare_request(
    body: JSON, signatures: SignatureCache, conversation_key: str | None, *, object_placeholder: bool = False
) -> tuple[JSON, NameMap]:
    """The request as the upstream accepts it (a new dict; `body` is not changed). `object_placeholder`:
    empty object schemas in tool parameters get PLACEHOLDER_PROPERTY (see needs_object_placeholder)."""
    names = _build_name_map(body)
    request = dict(body)
    tools = _prepare_tools(body.get("tools"), names, object_placeholder)
    if tools:
        request["tools"] = tools
    else:
        request.pop("tools", None)
    if "contents" in body:
        request["contents"] = _prepare_contents(body["contents"], names, signatures, conversation_key)
    if isinstance(body.get("toolConfig"), dict):
        request["toolConfig"] = _prepare_tool_config(body["toolConfig"], names)
    if isinstance(body.get("generationConfig"), dict):
        request["generationConfig"] = _prepare_generation_config(body["generationConfig"])
    return request, names


# ---------------------------------------------------------------------------------------------------------
# Responses


CALL_ID_PREFIX = "fc-"  # neutral: each protocol takes the id as it is (OpenAI, Claude and Gemini accept it)


def new_call_id() -> str:
    """A fresh function-call id: a neutral prefix and 24 hex digits (no protocol's own shape)."""
    return CALL_ID_PREFIX + secrets.token_hex(12)


def _restore_part(
    part: JSON, names: NameMap, signatures: SignatureCache, conversation_key: str | None
) -> JSON:
    call = part["functionCall"]
    new_call = dict(call)
    name = call.get("name")
    args = call.get("args")
    if name in names.with_placeholder and isinstance(args, dict) and PLACEHOLDER_PROPERTY in args:
        # The client's function has no such parameter: the model filled in the placeholder the gateway added.
        new_call["args"] = {k: v for k, v in args.items() if k != PLACEHOLDER_PROPERTY}
    if isinstance(name, str) and name in names.to_client:
        new_call["name"] = names.to_client[name]
    if not call.get("id"):
        new_call["id"] = new_call_id()
    signature = part.get("thoughtSignature")
    if isinstance(signature, str) and signature:
        signatures.remember(conversation_key, new_call, signature)
    return {**part, "functionCall": new_call}


def _restore_candidate(
    candidate: Any,
    names: NameMap,
    signatures: SignatureCache,
    conversation_key: str | None,
    family: str | None,
) -> Any:
    if not isinstance(candidate, dict):
        return candidate
    content = candidate.get("content")
    if not isinstance(content, dict):
        return candidate
    parts = content.get("parts")
    if not isinstance(parts, list):
        return candidate
    new_parts: list[Any] | None = None
    for index, part in enumerate(parts):
        if family is not None and isinstance(part, dict) and (signature := part.get("thoughtSignature")):
            signatures.remember_origin(str(signature), family)
        if isinstance(part, dict) and isinstance(part.get("functionCall"), dict):
            if new_parts is None:
                new_parts = list(parts)
            new_parts[index] = _restore_part(part, names, signatures, conversation_key)
    if new_parts is None:
        return candidate
    return {**candidate, "content": {**content, "parts": new_parts}}


def restore_response(
    chunk: JSON,
    names: NameMap,
    signatures: SignatureCache,
    conversation_key: str | None,
    *,
    family: str | None = None,
) -> JSON:
    """One response (or stream chunk) as the client should see it; remembers signatures (and, given the
    serving model's `family` (signature_family), which family made each one).
    Returns `chunk` itself when there is nothing to change (the common text chunk); otherwise a copy of
    only the path that changed."""
    candidates = chunk.get("candidates")
    if not candidates or not isinstance(candidates, list):
        return chunk
    new_candidates: list[Any] | None = None
    for index, candidate in enumerate(candidates):
        restored = _restore_candidate(candidate, names, signatures, conversation_key, family)
        if restored is not candidate:
            if new_candidates is None:
                new_candidates = list(candidates)
            new_candidates[index] = restored
    if new_candidates is None:
        return chunk
    return {**chunk, "candidates": new_candidates}
