"""Claude Messages requests (`/v1/messages`, `/v1/messages/count_tokens`) translated to Gemini requests."""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.errors import invalid_request
from core.types import JSON
from server.protocol import Decoded

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class MessagesOptions:
    """What the Messages encoders read of the request."""

    stop_sequences: tuple[str, ...] = ()  # to tell a stop_sequence ending when the model wrote one out


_GEMINI_ROLES = {"user": "user", "assistant": "model"}
_TOOL_CHOICE_MODES = {"auto": "AUTO", "any": "ANY", "none": "NONE"}
# Blocks only one side of a conversation may send, as Anthropic's API enforces it.
_ASSISTANT_ONLY = frozenset({"tool_use", "thinking", "redacted_thinking"})
_USER_ONLY = frozenset({"tool_result"})
_logged_drops: set[str] = set()


def _drop(kind: str, where: str) -> list[JSON]:
    """Leaves out a block or field Gemini has no form for; says so once per kind, so logs stay readable."""
    if kind not in _logged_drops:
        _logged_drops.add(kind)
        _log.info(
            "Claude request: a %r block has no Gemini form and is left out (first seen at %s)", kind, where
        )
    return []


def decode(payload: object) -> Decoded[MessagesOptions]:
    """A `POST /v1/messages` body as a Gemini GenerateContentRequest; bad input raises ApiError 400."""
    return _decode(payload, require_max_tokens=True)


def decode_count_tokens(payload: object) -> Decoded[MessagesOptions]:
    """A `POST /v1/messages/count_tokens` body (like a messages body, without `max_tokens`)."""
    return _decode(payload, require_max_tokens=False)


def _decode(payload: object, *, require_max_tokens: bool) -> Decoded[MessagesOptions]:
    if not isinstance(payload, dict):
        raise invalid_request("The request body must be a JSON object.")
    model = payload.get("model")
    if not isinstance(model, str) or not model:
        raise invalid_request("model: a model name (string) is required.", param="model")
    max_tokens = _max_tokens(payload.get("max_tokens"), required=require_max_tokens)
    messages = payload.get("messages")
    if not isinstance(messages, list) or not messages:
        raise invalid_request("messages: a non-empty list of messages is required.", param="messages")

    contents, leading_system = _contents(messages)
    body: JSON = {"contents": contents}
    system = _system_instruction(payload.get("system"), leading_system)
    if system is not None:
        body["systemInstruction"] = system
    declarations, ignored_tools = _function_declarations(payload.get("tools"))
    if declarations:
        body["tools"] = [{"functionDeclarations": declarations}]
    elif _wants_search(payload.get("tools")):
        # Claude's web search runs as Gemini's googleSearch; the upstream refuses it next to functions.
        body["tools"] = [{"googleSearch": {}}]
    tool_config = _tool_config(payload.get("tool_choice"), {d["name"] for d in declarations}, ignored_tools)
    if tool_config is not None:
        body["toolConfig"] = tool_config
    stop_sequences = _stop_sequences(payload.get("stop_sequences"))
    generation_config = _generation_config(payload, max_tokens, stop_sequences)
    if generation_config:
        body["generationConfig"] = generation_config

    stream = payload.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise invalid_request("stream: must be true or false.", param="stream")
    return Decoded(
        model=model,
        body=body,
        stream=bool(stream),
        conversation_key=_conversation_key(payload.get("metadata")),
        options=MessagesOptions(tuple(stop_sequences)),
    )


# --- small validators: each names the field at fault, as Anthropic's own errors do ---------------------


def _object(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid_request(f"{where}: expected an object.", param=where)
    return value


def _list(value: object, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise invalid_request(f"{where}: expected a list.", param=where)
    return value


def _string(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise invalid_request(f"{where}: expected a string.", param=where)
    return value


def _integer(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid_request(f"{where}: expected an integer.", param=where)
    return value


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise invalid_request(f"{where}: expected a number of at least 0.", param=where)
    return value


def _max_tokens(value: object, *, required: bool) -> int | None:
    if value is None:
        if required:
            raise invalid_request("max_tokens: field required.", param="max_tokens")
        return None
    max_tokens = _integer(value, "max_tokens")
    # Anthropic allows 0 to pre-warm its prompt cache; the Google upstream has nothing like it.
    if max_tokens < 1:
        raise invalid_request("max_tokens: must be at least 1.", param="max_tokens")
    return max_tokens


# --- messages -------------------------------------------------------------------------------------------


def _contents(messages: list[Any]) -> tuple[list[JSON], list[JSON]]:
    """Gemini turns (user -> user, assistant -> model, consecutive turns of one role merged), and the text
    parts of the system messages that come before any other message.

    Current Claude Code sends `role: "system"` messages inside `messages` (the beta
    `mid-conversation-system`). Gemini has one system instruction and two roles: system messages before the
    conversation join the system instruction; later ones join the user turn at their place, in order.
    """
    tool_names: dict[str, str] = {}  # tool_use id -> function name, for the tool_result blocks that follow
    contents: list[JSON] = []
    leading_system: list[JSON] = []
    for index, raw in enumerate(messages):
        where = f"messages.{index}"
        message = _object(raw, where)
        role = message.get("role")
        if not isinstance(role, str) or role not in (*_GEMINI_ROLES, "system"):
            raise invalid_request(
                f"{where}.role: must be 'user', 'assistant' or 'system'.", param=f"{where}.role"
            )
        if "content" not in message:
            raise invalid_request(f"{where}.content: field required.", param=f"{where}.content")
        if role == "system":
            parts = _system_parts(message["content"], f"{where}.content")
            if not contents:
                leading_system.extend(parts)
                continue
            role = "user"
        else:
            parts = _message_parts(message["content"], role, where, tool_names)
        if not parts:
            continue  # Gemini refuses a turn without parts; an empty Claude message adds nothing anyway
        gemini_role = _GEMINI_ROLES[role]
        if contents and contents[-1]["role"] == gemini_role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": gemini_role, "parts": parts})
    if not contents:
        raise invalid_request("messages: every message is empty.", param="messages")
    for turn in contents:
        # Gemini wants a turn's function responses before anything else in it; a system message merged
        # into the turn that carries tool results must not push them back.
        turn["parts"].sort(key=lambda part: "functionResponse" not in part)
    return contents, leading_system


def _message_parts(content: object, role: str, where: str, tool_names: dict[str, str]) -> list[JSON]:
    if isinstance(content, str):
        return [{"text": content}] if content else []
    blocks = _list(content, f"{where}.content")
    parts: list[JSON] = []
    carried_signature: str | None = None
    for index, raw in enumerate(blocks):
        block_where = f"{where}.content.{index}"
        block = _object(raw, block_where)
        kind = block.get("type")
        if not isinstance(kind, str):
            raise invalid_request(
                f"{block_where}.type: a block type (string) is required.", f"{block_where}.type"
            )
        if kind not in _KNOWN_BLOCKS:
            # Anthropic's own server tools, MCP connectors, containers...: no Gemini form. A client sends them
            # back in its history; they are left out rather than refusing a conversation it cannot repair.
            _drop(kind, block_where)
            continue
        if kind in _ASSISTANT_ONLY and role != "assistant":
            raise invalid_request(
                f"{block_where}: '{kind}' blocks belong in assistant messages.", block_where
            )
        if kind in _USER_ONLY and role != "user":
            raise invalid_request(f"{block_where}: '{kind}' blocks belong in user messages.", block_where)
        if kind == "thinking" and _is_signature_carrier(block, blocks, index):
            # The encoder emits a function call's signature as an empty thinking block just before its
            # tool_use; put it back on the functionCall part, where the upstream expects it.
            carried_signature = block["signature"]
            continue
        if kind == "tool_use":
            part = _tool_use_part(block, block_where, tool_names)
            if carried_signature is not None:
                part["thoughtSignature"] = carried_signature
                carried_signature = None
            parts.append(part)
        elif kind == "tool_result":
            parts.extend(_tool_result_parts(block, block_where, tool_names))
        else:
            parts.extend(_BLOCK_DECODERS[kind](block, block_where))
    return parts


def _is_signature_carrier(block: dict[str, Any], blocks: list[Any], index: int) -> bool:
    following = blocks[index + 1] if index + 1 < len(blocks) else None
    return (
        block.get("thinking") == ""
        and isinstance(block.get("signature"), str)
        and bool(block["signature"])
        and isinstance(following, dict)
        and following.get("type") == "tool_use"
    )


def _text_parts(block: dict[str, Any], where: str) -> list[JSON]:
    text = _string(block.get("text"), f"{where}.text")
    return [{"text": text}] if text else []  # citations and cache_control have no Gemini counterpart


def _search_result_parts(block: dict[str, Any], where: str) -> list[JSON]:
    """A client-supplied search result (title, source, text content) as plain text the model can cite."""
    lines = [value for key in ("title", "source") if isinstance(value := block.get(key), str)]
    inner = _nested_parts(_list(block.get("content", []), f"{where}.content"), f"{where}.content")
    lines.extend(part["text"] for part in inner if "text" in part)
    text = "\n".join(line for line in lines if line)
    return [{"text": text}] if text else []


def _thinking_parts(block: dict[str, Any], where: str) -> list[JSON]:
    text = _string(block.get("thinking", ""), f"{where}.thinking")
    signature = _string(block.get("signature", ""), f"{where}.signature")
    if not text and not signature:
        return []
    part: JSON = {"thought": True, "text": text}
    if signature:
        part["thoughtSignature"] = signature
    return [part]


def _redacted_thinking_parts(block: dict[str, Any], where: str) -> list[JSON]:
    # Redacted thinking is opaque data the client must send back unchanged. Gemini's nearest slot for an
    # opaque value on a reasoning part is thoughtSignature, so it travels there on an empty thought part.
    data = _string(block.get("data"), f"{where}.data")
    return [{"thought": True, "text": "", "thoughtSignature": data}] if data else []


def _image_parts(block: dict[str, Any], where: str) -> list[JSON]:
    source = _object(block.get("source"), f"{where}.source")
    kind = source.get("type")
    if kind == "base64":
        media_type = _string(source.get("media_type"), f"{where}.source.media_type")
        data = _string(source.get("data"), f"{where}.source.data")
        return [{"inlineData": {"mimeType": media_type, "data": data}}]
    if kind == "url":
        return [_file_data(_string(source.get("url"), f"{where}.source.url"), None)]
    raise invalid_request(
        f"{where}.source.type: image sources must be 'base64' or 'url', not {kind!r}.", f"{where}.source.type"
    )


def _document_parts(block: dict[str, Any], where: str) -> list[JSON]:
    source = _object(block.get("source"), f"{where}.source")
    kind = source.get("type")
    if kind == "base64":
        media_type = source.get("media_type") or "application/pdf"
        data = _string(source.get("data"), f"{where}.source.data")
        return [{"inlineData": {"mimeType": _string(media_type, f"{where}.source.media_type"), "data": data}}]
    if kind == "text":
        text = _string(source.get("data"), f"{where}.source.data")
        return [{"text": text}] if text else []
    if kind == "url":
        return [_file_data(_string(source.get("url"), f"{where}.source.url"), "application/pdf")]
    if kind == "content":
        inner = source.get("content")
        if isinstance(inner, str):
            return [{"text": inner}] if inner else []
        return _nested_parts(_list(inner, f"{where}.source.content"), f"{where}.source.content")
    raise invalid_request(
        f"{where}.source.type: document sources must be 'base64', 'text', 'url' or 'content', not {kind!r}.",
        f"{where}.source.type",
    )


def _file_data(url: str, default_mime_type: str | None) -> JSON:
    mime_type = mimetypes.guess_type(url)[0] or default_mime_type
    file_data: JSON = {"fileUri": url}
    if mime_type:
        file_data["mimeType"] = mime_type
    return {"fileData": file_data}


def _nested_parts(blocks: list[Any], where: str) -> list[JSON]:
    """Text, image and document blocks inside a tool result or a content document."""
    parts: list[JSON] = []
    for index, raw in enumerate(blocks):
        block_where = f"{where}.{index}"
        block = _object(raw, block_where)
        kind = block.get("type")
        if not isinstance(kind, str):
            raise invalid_request(
                f"{block_where}.type: a block type (string) is required.", f"{block_where}.type"
            )
        if kind not in ("text", "image", "document", "search_result"):
            _drop(kind, block_where)
            continue
        parts.extend(_BLOCK_DECODERS[kind](block, block_where))
    return parts


def _tool_use_part(block: dict[str, Any], where: str, tool_names: dict[str, str]) -> JSON:
    call_id = _string(block.get("id"), f"{where}.id")
    name = _string(block.get("name"), f"{where}.name")
    arguments = _object(block.get("input", {}), f"{where}.input")
    tool_names[call_id] = name
    return {"functionCall": {"name": name, "args": arguments, "id": call_id}}


def _tool_result_parts(block: dict[str, Any], where: str, tool_names: dict[str, str]) -> list[JSON]:
    call_id = _string(block.get("tool_use_id"), f"{where}.tool_use_id")
    name = tool_names.get(call_id)
    if name is None:
        raise invalid_request(
            f"{where}.tool_use_id: no earlier tool_use block has the id {call_id!r}.", f"{where}.tool_use_id"
        )
    content = block.get("content", "")
    extra_parts: list[JSON] = []
    if isinstance(content, str):
        text = content
    else:
        nested = _nested_parts(_list(content, f"{where}.content"), f"{where}.content")
        text = "\n".join(part["text"] for part in nested if "text" in part)
        # A functionResponse holds JSON only: images and files of the result follow it in the same turn.
        extra_parts = [part for part in nested if "text" not in part]
    outcome = "error" if block.get("is_error") is True else "result"
    response: JSON = {"name": name, "id": call_id, "response": {outcome: text}}
    return [{"functionResponse": response}, *extra_parts]


_BLOCK_DECODERS: dict[str, Callable[[dict[str, Any], str], list[JSON]]] = {
    "text": _text_parts,
    "image": _image_parts,
    "document": _document_parts,
    "thinking": _thinking_parts,
    "redacted_thinking": _redacted_thinking_parts,
    "search_result": _search_result_parts,
}
# tool_use and tool_result need the id -> name map, so _message_parts handles them itself.
_KNOWN_BLOCKS = frozenset({*_BLOCK_DECODERS, "tool_use", "tool_result"})


# --- system, tools, generation settings -----------------------------------------------------------------


def _system_instruction(system: object, leading_messages: list[JSON]) -> JSON | None:
    parts = [] if system is None else _system_parts(system, "system")
    parts.extend(leading_messages)
    return {"parts": parts} if parts else None


def _system_parts(system: object, where: str) -> list[JSON]:
    """The text of a `system` field or a system message: a string or text blocks (other blocks left out)."""
    if isinstance(system, str):
        return [{"text": system}] if system else []
    parts: list[JSON] = []
    for index, raw in enumerate(_list(system, where)):
        block = _object(raw, f"{where}.{index}")
        kind = block.get("type")
        if kind != "text":
            _drop(f"system {kind}", f"{where}.{index}")
            continue
        parts.extend(_text_parts(block, f"{where}.{index}"))
    return parts


def _function_declarations(tools: object) -> tuple[list[JSON], list[str]]:
    """Client tools as Gemini function declarations, and the names of the server tools left out."""
    if tools is None:
        return [], []
    declarations: list[JSON] = []
    ignored: list[str] = []
    for index, raw in enumerate(_list(tools, "tools")):
        where = f"tools.{index}"
        tool = _object(raw, where)
        kind = tool.get("type")
        if kind not in (None, "custom"):
            # Anthropic-defined tools (web_search_20250305, bash_…, text_editor_…) have no schema we could
            # declare; they are left out for now rather than failing the whole request.
            ignored.append(str(tool.get("name") or kind))
            continue
        declaration: JSON = {"name": _string(tool.get("name"), f"{where}.name")}
        description = tool.get("description")
        if description is not None:
            declaration["description"] = _string(description, f"{where}.description")
        declaration["parameters"] = _object(tool.get("input_schema"), f"{where}.input_schema")
        declarations.append(declaration)
    return declarations, ignored


def _wants_search(tools: object) -> bool:
    """A `web_search_…` server tool (web_search_20250305 and later versions) among the tools."""
    return isinstance(tools, list) and any(
        isinstance(tool, dict) and str(tool.get("type") or "").startswith("web_search") for tool in tools
    )


def _tool_config(tool_choice: object, declared: set[str], ignored: list[str]) -> JSON | None:
    if tool_choice is None:
        return None
    choice = _object(tool_choice, "tool_choice")
    kind = choice.get("type")
    config: JSON
    if kind == "tool":
        name = _string(choice.get("name"), "tool_choice.name")
        if name in ignored:
            return None  # a server tool we leave out: let the model answer on its own
        if name not in declared:
            raise invalid_request(f"tool_choice.name: no tool named {name!r} was given.", "tool_choice.name")
        config = {"mode": "ANY", "allowedFunctionNames": [name]}
    elif isinstance(kind, str) and kind in _TOOL_CHOICE_MODES:
        config = {"mode": _TOOL_CHOICE_MODES[kind]}
    else:
        raise invalid_request(
            f"tool_choice.type: must be 'auto', 'any', 'tool' or 'none', not {kind!r}.", "tool_choice.type"
        )
    # Without function declarations there is nothing to choose from; Gemini rejects a lone toolConfig.
    return {"functionCallingConfig": config} if declared else None


def _stop_sequences(value: object) -> list[str]:
    if value is None:
        return []
    sequences = _list(value, "stop_sequences")
    for index, sequence in enumerate(sequences):
        _string(sequence, f"stop_sequences.{index}")
    return [sequence for sequence in sequences if sequence]


def _generation_config(payload: dict[str, Any], max_tokens: int | None, stop_sequences: list[str]) -> JSON:
    config: JSON = {}
    if max_tokens is not None:
        config["maxOutputTokens"] = max_tokens
    for claude_name, gemini_name in (("temperature", "temperature"), ("top_p", "topP")):
        value = payload.get(claude_name)
        if value is not None:
            config[gemini_name] = _number(value, claude_name)
    top_k = payload.get("top_k")
    if top_k is not None:
        config["topK"] = _integer(top_k, "top_k")
    if stop_sequences:
        config["stopSequences"] = stop_sequences
    thinking = _thinking_config(payload.get("thinking"), max_tokens)
    if thinking is not None:
        config["thinkingConfig"] = thinking
    return config


def _thinking_config(thinking: object, max_tokens: int | None) -> JSON | None:
    if thinking is None:
        return None
    settings = _object(thinking, "thinking")
    kind = settings.get("type")
    # "omitted" display: no readable reasoning, but signatures still come back for the next turn.
    include_thoughts = settings.get("display") != "omitted"
    if kind == "disabled":
        return None
    if kind == "enabled":
        budget = _integer(settings.get("budget_tokens"), "thinking.budget_tokens")
        if budget < 0:
            raise invalid_request("thinking.budget_tokens: must be at least 0.", "thinking.budget_tokens")
        # Anthropic and the upstream both refuse a budget that leaves no room for the answer.
        if max_tokens is not None and budget >= max_tokens:
            raise invalid_request(
                "max_tokens: must be greater than thinking.budget_tokens.", param="thinking.budget_tokens"
            )
        return {"thinkingBudget": budget, "includeThoughts": include_thoughts}
    if kind in ("adaptive", "between_tools"):
        return {"includeThoughts": include_thoughts}  # no budget: the model decides how long to think
    raise invalid_request(
        f"thinking.type: must be 'enabled', 'disabled' or 'adaptive', not {kind!r}.", "thinking.type"
    )


def _conversation_key(metadata: object) -> str | None:
    if metadata is None:
        return None
    user_id = _object(metadata, "metadata").get("user_id")
    if user_id is None:
        return None
    return _string(user_id, "metadata.user_id") or None
