"""Responses API tools as Gemini function declarations: function, custom (freeform) and namespace tools.

Gemini knows only functions, so:
- a `function` tool is declared as it is;
- a `custom` tool (free text in, e.g. Codex's `apply_patch` with a grammar) becomes a function with one string
  argument `input`; the model's call comes back to the client as a `custom_tool_call` carrying that input;
- a `namespace` tool's functions are declared flat as `<namespace>__<name>` (letters, digits and `_` only, so
  Claude models behind the upstream accept the name too); their calls come back with `namespace` set;
- `web_search` tools become Gemini's googleSearch; other built-in tools (file search, computer use, local
  shell, tool search, ...) have no Gemini form and are left out with one log line per type, rather than
  refusing a request the client cannot change.
The `ToolOrigin` of every declared name lets the encoder turn a Gemini functionCall back into the item the
client expects, and lets the decoder read earlier calls of the conversation the same way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from core.errors import invalid_request
from core.types import JSON
from server.request_parts import SEARCH_TOOL_TYPES, function_declaration, required_name, short

_log = logging.getLogger(__name__)
_logged_drops: set[str] = set()

CUSTOM_INPUT = "input"  # the one argument of a custom tool's function
NAMESPACE_SEPARATOR = "__"


@dataclass(frozen=True, slots=True)
class ToolOrigin:
    """What a declared Gemini function is on the client's side."""

    kind: str  # "function" or "custom"
    name: str  # the client's own name of the tool
    namespace: str | None = None


@dataclass
class DeclaredTools:
    """Every tool of a request (the `tools` field and `additional_tools` input items), declared once."""

    declarations: list[JSON]
    origins: dict[str, ToolOrigin]
    search: bool = False

    @classmethod
    def empty(cls) -> DeclaredTools:
        return cls([], {})

    def add_all(self, tools: object, where: str) -> None:
        if tools is None:
            return
        if not isinstance(tools, list):
            raise invalid_request(f"'{where}' must be an array.", where)
        for position, tool in enumerate(tools):
            self._add(tool, f"{where}[{position}]", namespace=None)

    def gemini_name(self, name: str, namespace: object, where: str) -> str:
        """The declared function name of a call the client sends back (`namespace` as the item carries it)."""
        if namespace is None:
            return name
        return flat_name(required_name(namespace, f"{where}.namespace"), name)

    def _add(self, tool: object, where: str, namespace: str | None) -> None:
        if not isinstance(tool, dict):
            raise invalid_request(f"{where} must be an object.", where)
        kind = tool.get("type")
        if kind in SEARCH_TOOL_TYPES and namespace is None:
            self.search = True
        elif kind == "function":
            declaration = function_declaration(tool, where)
            self._declare(declaration, ToolOrigin("function", declaration["name"], namespace), where)
        elif kind == "custom":
            self._declare(*_custom(tool, where, namespace), where)
        elif kind == "namespace" and namespace is None:
            inner_namespace = required_name(tool.get("name"), f"{where}.name")
            inner = tool.get("tools")
            if not isinstance(inner, list):
                raise invalid_request(f"{where}.tools must be an array.", f"{where}.tools")
            for position, inner_tool in enumerate(inner):
                self._add(inner_tool, f"{where}.tools[{position}]", inner_namespace)
        elif isinstance(kind, str):
            _drop(kind, where)
        else:
            raise invalid_request(f"{where}.type {short(kind)} must be a tool type.", f"{where}.type")

    def _declare(self, declaration: JSON, origin: ToolOrigin, where: str) -> None:
        if origin.namespace is not None:
            declaration["name"] = flat_name(origin.namespace, origin.name)
        name = declaration["name"]
        if name in self.origins:
            raise invalid_request(f"{where}.name {short(origin.name)} is declared twice.", f"{where}.name")
        self.origins[name] = origin
        self.declarations.append(declaration)


def flat_name(namespace: str, name: str) -> str:
    return f"{namespace}{NAMESPACE_SEPARATOR}{name}"


def _custom(tool: JSON, where: str, namespace: str | None) -> tuple[JSON, ToolOrigin]:
    name = required_name(tool.get("name"), f"{where}.name")
    description = tool.get("description")
    if description is not None and not isinstance(description, str):
        raise invalid_request(f"{where}.description must be a string.", f"{where}.description")
    argument = "The tool's whole input, as free text."
    tool_format = tool.get("format")
    if isinstance(tool_format, dict) and tool_format.get("type") == "grammar":
        # The model cannot be held to a grammar here; it is told it instead, word for word.
        syntax, definition = tool_format.get("syntax"), tool_format.get("definition")
        if isinstance(definition, str) and definition:
            argument += f" It must follow this {syntax or 'grammar'} grammar exactly:\n{definition}"
    declaration: JSON = {
        "name": name,
        "parameters": {
            "type": "object",
            "properties": {CUSTOM_INPUT: {"type": "string", "description": argument}},
            "required": [CUSTOM_INPUT],
        },
    }
    if description:
        declaration["description"] = description
    return declaration, ToolOrigin("custom", name, namespace)


def _drop(kind: str, where: str) -> None:
    if kind not in _logged_drops:
        _logged_drops.add(kind)
        _log.info(
            "Responses request: a %r tool has no Gemini form and is left out (first seen at %s)", kind, where
        )
