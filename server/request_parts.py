"""Request pieces the adapters share: OpenAI-shaped content, tools and settings (Chat Completions, Responses,
legacy completions) that Ollama reuses too, and the small checks every decoder makes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from core.errors import invalid_request
from core.types import JSON

# Thinking budgets for reasoning_effort. Every value sits inside the range of all Gemini 2.5/3 and
# Claude-thinking models the upstream serves (2.5 Flash tops out at 24576), so none is refused for
# being too large; "xhigh"/"max" (newer OpenAI values) get the largest budget that is safe everywhere.
REASONING_BUDGETS: dict[str, int] = {
    "none": 0,
    "minimal": 512,
    "low": 1024,
    "medium": 8192,
    "high": 24576,
    "xhigh": 24576,
    "max": 24576,
}

TOOL_CHOICE_MODES: dict[str, str] = {"none": "NONE", "auto": "AUTO", "required": "ANY"}

# OpenAI's hosted search tools; served by Gemini's googleSearch (dropped when functions are declared too).
SEARCH_TOOL_TYPES = frozenset({"web_search", "web_search_preview"})

# By file extension, for http(s) image URLs; Gemini needs a MIME type and the URL is all we know.
IMAGE_TYPES: dict[str, str] = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".heic": "image/heic",
    ".heif": "image/heif",
    ".bmp": "image/bmp",
}
DEFAULT_IMAGE_TYPE = "image/jpeg"


@dataclass
class Conversation:
    """Gemini contents being built, merging consecutive turns of the same role."""

    system_parts: list[JSON] = field(default_factory=list)
    contents: list[JSON] = field(default_factory=list)
    call_names: dict[str, str] = field(default_factory=dict)  # tool_call id -> function name

    def add(self, role: str, parts: list[JSON]) -> None:
        if not parts:
            return  # the upstream refuses turns with no parts
        if self.contents and self.contents[-1]["role"] == role:
            self.contents[-1]["parts"].extend(parts)
        else:
            self.contents.append({"role": role, "parts": parts})


def request_model(payload: object) -> tuple[JSON, str]:
    """The body as a JSON object and its required `model`; a 400 when either is missing or of the wrong type."""
    if not isinstance(payload, dict):
        raise invalid_request("Request body must be a JSON object.")
    model = payload.get("model")
    if not isinstance(model, str) or not model:
        raise invalid_request("'model' is required and must be a non-empty string.", "model")
    return payload, model


# --- content --------------------------------------------------------------------------------------------


def content_items(content: object, where: str) -> list[JSON]:
    """An array-of-parts content, each part checked to be an object."""
    if not isinstance(content, list):
        raise invalid_request(f"{where} must be a string or an array of content parts.", where)
    for position, item in enumerate(content):
        if not isinstance(item, dict):
            raise invalid_request(f"{where}[{position}] must be an object.", f"{where}[{position}]")
    return content


def image_part(image: object, where: str) -> JSON:
    """An image given as a data URL or an http(s) URL, as a Gemini inlineData or fileData part."""
    # Some clients send the URL itself instead of {"url": ...}; both are unambiguous.
    url = image.get("url") if isinstance(image, dict) else image
    if not isinstance(url, str) or not url:
        raise invalid_request(f"{where}.url must be a non-empty string.", f"{where}.url")
    if url[:5].lower() == "data:":
        mime_type, data = parse_data_url(url, f"{where}.url")
        return {"inlineData": {"mimeType": mime_type, "data": data}}
    parsed = urlsplit(url)
    if parsed.scheme.lower() in ("http", "https") and parsed.netloc:
        return {"fileData": {"mimeType": _image_type_from_path(parsed.path), "fileUri": url}}
    # The URL itself is not echoed: it may carry a signed token in its query.
    raise invalid_request(
        f"{where}.url must be a base64 data URL (data:image/png;base64,...) or an http(s) URL.",
        f"{where}.url",
    )


def parse_data_url(url: str, where: str) -> tuple[str, str]:
    """(MIME type, base64 data) of a `data:<type>;base64,<data>` URL."""
    header, comma, data = url[5:].partition(",")
    media = header.split(";")
    mime_type = media[0].strip().lower()
    if not comma or "base64" not in (piece.strip().lower() for piece in media[1:]):
        raise invalid_request(f"{where} must be a base64 data URL like data:image/png;base64,<data>.", where)
    if "/" not in mime_type:
        raise invalid_request(f"{where} must name a MIME type, like data:image/png;base64,<data>.", where)
    if not data:
        raise invalid_request(f"{where} has no data after the comma.", where)
    return mime_type, data


def _image_type_from_path(path: str) -> str:
    dot = path.rfind(".")
    return IMAGE_TYPES.get(path[dot:].lower(), DEFAULT_IMAGE_TYPE) if dot >= 0 else DEFAULT_IMAGE_TYPE


def file_part(file: object, where: str) -> JSON:
    """A file sent inline (`file_data` as a data URL) as a Gemini inlineData part."""
    if not isinstance(file, dict):
        raise invalid_request(f"{where} must be an object with file_data.", where)
    file_data = file.get("file_data")
    if not isinstance(file_data, str) or file_data[:5].lower() != "data:":
        raise invalid_request(
            f"{where}.file_data must be a base64 data URL (uploaded file ids are not supported).",
            f"{where}.file_data",
        )
    mime_type, data = parse_data_url(file_data, f"{where}.file_data")
    return {"inlineData": {"mimeType": mime_type, "data": data}}


# --- function calls and results -------------------------------------------------------------------------


def function_arguments(arguments: object, where: str) -> JSON:
    """A call's `arguments` (a JSON string, as OpenAI sends them) as the object Gemini wants."""
    if arguments is None or arguments == "":
        return {}
    if isinstance(arguments, dict):
        return arguments  # not OpenAI's format, but unambiguous
    if not isinstance(arguments, str):
        raise invalid_request(f"{where} must be a JSON string.", where)
    try:
        parsed = json.loads(arguments)
    except json.JSONDecodeError as exc:
        raise invalid_request(
            f"{where} is not valid JSON ({exc.msg} at position {exc.pos}).", where
        ) from None
    if not isinstance(parsed, dict):
        raise invalid_request(f"{where} must be a JSON object.", where)
    return parsed


def function_response(name: str, call_id: str | None, output: str) -> JSON:
    """A tool's output as a Gemini functionResponse part answering the call `call_id` (when known)."""
    response: JSON = {"name": name}
    if call_id is not None:
        response["id"] = call_id
    response["response"] = {"result": json_object_or_text(output)}
    return {"functionResponse": response}


def json_object_or_text(text: str) -> Any:
    """Tool output that is a JSON object goes up as structure (the model reads it better); else as text."""
    if not text.lstrip().startswith("{"):
        return text
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        return text
    return parsed if isinstance(parsed, dict) else text


# --- tools ----------------------------------------------------------------------------------------------


def decode_function_tools(tools: object, *, nested: bool) -> tuple[list[JSON], bool]:
    """Function declarations of `tools`, and whether a web search tool was asked for.

    `nested`: the function sits under the tool's "function" key (Chat Completions, Ollama) rather than in the
    tool itself (Responses).
    """
    if tools is None:
        return [], False
    if not isinstance(tools, list):
        raise invalid_request("'tools' must be an array.", "tools")
    declarations: list[JSON] = []
    seen: set[str] = set()
    search = False
    for position, tool in enumerate(tools):
        where = f"tools[{position}]"
        if not isinstance(tool, dict):
            raise invalid_request(f"{where} must be an object.", where)
        if tool.get("type") in SEARCH_TOOL_TYPES:
            search = True
            continue
        if tool.get("type") != "function":
            raise invalid_request(
                f"{where}.type {short(tool.get('type'))} is not supported; use 'function' or 'web_search'.",
                f"{where}.type",
            )
        if nested:
            where = f"{where}.function"
        declaration = function_declaration(tool.get("function") if nested else tool, where)
        if declaration["name"] in seen:
            raise invalid_request(
                f"{where}.name {short(declaration['name'])} is declared twice.", f"{where}.name"
            )
        seen.add(declaration["name"])
        declarations.append(declaration)
    return declarations, search


def function_declaration(function: object, where: str) -> JSON:
    if not isinstance(function, dict):
        raise invalid_request(f"{where} must be an object with a name.", where)
    declaration: JSON = {"name": required_name(function.get("name"), f"{where}.name")}
    description = function.get("description")
    if description is not None:
        if not isinstance(description, str):
            raise invalid_request(f"{where}.description must be a string.", f"{where}.description")
        if description:
            declaration["description"] = description
    parameters = function.get("parameters")
    if parameters is not None:
        if not isinstance(parameters, dict):
            raise invalid_request(f"{where}.parameters must be a JSON Schema object.", f"{where}.parameters")
        # Passed through as given: core.transform cleans schemas for the upstream.
        declaration["parameters"] = parameters
    return declaration


def decode_tool_choice(choice: object, declared: set[str], name_path: tuple[str, ...]) -> JSON | None:
    """`tool_choice` as a Gemini toolConfig; `name_path` leads from the choice object to the function name
    (("function", "name") in Chat Completions, ("name",) in Responses)."""
    if choice is None:
        return None
    if isinstance(choice, str):
        mode = TOOL_CHOICE_MODES.get(choice)
        if mode is None:
            raise invalid_request(
                f"'tool_choice' {short(choice)} is not supported; use none, auto, required or a function.",
                "tool_choice",
            )
        if not declared:
            if mode == "ANY":
                raise invalid_request("'tool_choice' is 'required' but no tools were given.", "tool_choice")
            return None  # none/auto without tools mean nothing to the upstream
        return {"functionCallingConfig": {"mode": mode}}
    if isinstance(choice, dict) and choice.get("type") == "function":
        param = ".".join(("tool_choice", *name_path))
        name: object = choice
        for key in name_path:
            name = name.get(key) if isinstance(name, dict) else None
        if not isinstance(name, str) or not name:
            raise invalid_request(f"'{param}' must be a non-empty string.", param)
        if name not in declared:
            raise invalid_request(
                f"'tool_choice' names function {short(name)}, which is not in 'tools'.", param
            )
        return {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [name]}}
    function_shape = "..."
    for key in reversed(name_path):
        function_shape = f'{{"{key}": {function_shape}}}'
    raise invalid_request(
        f'\'tool_choice\' must be none, auto, required or {{"type": "function", {function_shape[1:]}.',
        "tool_choice",
    )


# --- settings -------------------------------------------------------------------------------------------


def reasoning_budget(effort: object, param: str) -> int:
    """The thinking budget for an OpenAI reasoning effort; a 400 naming `param` for an unknown one."""
    budget = REASONING_BUDGETS.get(effort) if isinstance(effort, str) else None
    if budget is None:
        raise invalid_request(
            f"'{param}' {short(effort)} is not supported; use {', '.join(REASONING_BUDGETS)}.", param
        )
    return budget


def stop_sequences(stop: object, param: str = "stop") -> list[str]:
    """A stop string or array of them, without empty ones."""
    if stop is None:
        return []
    if isinstance(stop, str):
        return [stop] if stop else []
    if isinstance(stop, list) and all(isinstance(item, str) for item in stop):
        return [item for item in stop if item]
    raise invalid_request(f"'{param}' must be a string or an array of strings.", param)


def first_string(payload: JSON, keys: tuple[str, ...]) -> str | None:
    """The first non-empty string among `keys` (each checked to be a string when present)."""
    for key in keys:
        value = optional(payload, key, str)
        if value:
            return value
    return None


# --- small checks ---------------------------------------------------------------------------------------


def optional[T](container: JSON, key: str, kind: type[T], param: str | None = None) -> T | None:
    value = container.get(key)
    if value is None:
        return None
    if not isinstance(value, kind):
        raise invalid_request(f"'{param or key}' must be a {_type_name(kind)}.", param or key)
    return value


def number(payload: JSON, key: str, low: float, high: float) -> float | None:
    value = payload.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid_request(f"'{key}' must be a number.", key)
    if not low <= value <= high:
        raise invalid_request(f"'{key}' must be between {low:g} and {high:g}.", key)
    return value


def integer(payload: JSON, key: str) -> int | None:
    value = payload.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid_request(f"'{key}' must be an integer.", key)
    return value


def required_str(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise invalid_request(f"{where} must be a string.", where)
    return value


def required_name(value: object, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise invalid_request(f"{where} must be a non-empty string.", where)
    return value


def _type_name(kind: type) -> str:
    return {bool: "boolean", str: "string", int: "integer", dict: "object", list: "array"}.get(
        kind, kind.__name__
    )


def short(value: object) -> str:
    """A client value quoted for an error message, cut short so a huge value cannot flood the log."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
