"""Reading Gemini replies (a whole GenerateContentResponse or one stream chunk): the one reader every encoder uses.

What a reply says is read here once: a prompt blocked outright, the candidates and their parts, the finish
reason, the token counts and the web sources a search grounded the answer on. Each client protocol only
decides how to say it. Replies arrive here already out of Cloud Code's `{"response": ...}` envelope (core's
upstream clients unwrap it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core.errors import ApiError, ApiErrorType, invalid_request
from core.types import JSON

# Finish reasons that mean a filter stopped the answer (OpenAI's content_filter, Claude's refusal, the
# Responses API's incomplete "content_filter").
FILTERED_REASONS = frozenset(
    {
        "SAFETY",
        "RECITATION",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
        "IMAGE_RECITATION",
    }
)
MAX_TOKENS = "MAX_TOKENS"

_NO_PARTS: tuple[JSON, ...] = ()


# --- the prompt and the candidates ----------------------------------------------------------------------


def blocked_prompt_error(response: JSON, param: str | None = None) -> ApiError | None:
    """A reply with no candidates and a promptFeedback.blockReason is a refusal of the prompt: a 400, never text.

    `param` names the request field that holds the prompt in the client's protocol.
    """
    if response.get("candidates"):
        return None
    feedback = response.get("promptFeedback")
    reason = feedback.get("blockReason") if isinstance(feedback, dict) else None
    if not reason:
        return None
    assert isinstance(feedback, dict)
    explanation = feedback.get("blockReasonMessage")
    detail = f": {explanation}" if isinstance(explanation, str) and explanation else "."
    return invalid_request(
        f"The upstream blocked the prompt (blockReason {reason}){detail} Rephrase the request.", param
    )


def raise_if_blocked(response: JSON, param: str | None = None) -> None:
    error = blocked_prompt_error(response, param)
    if error is not None:
        raise error


def answer_candidates(response: JSON, param: str | None = None) -> list[JSON]:
    """The candidates of a whole answer; ApiError when the prompt was blocked (400) or none came (502)."""
    raise_if_blocked(response, param)
    candidates = response.get("candidates")
    if not candidates or not isinstance(candidates, list):
        raise ApiError(502, ApiErrorType.API_ERROR, "The upstream answered with no candidates and no reason.")
    return [candidate if isinstance(candidate, dict) else {} for candidate in candidates]


def parts_of(candidate: JSON) -> Sequence[JSON]:
    """The candidate's content parts that are objects (anything else in the list carries nothing)."""
    content = candidate.get("content")
    parts = content.get("parts") if isinstance(content, dict) else None
    if not parts or not isinstance(parts, list):
        return _NO_PARTS
    return [part for part in parts if isinstance(part, dict)]


# --- token counts ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Usage:
    """Gemini's usageMetadata counts. Each protocol counts them its own way (see the properties)."""

    prompt: int = 0
    cached: int = 0  # of the prompt tokens, those served from the upstream's cache
    candidates: int = 0  # the answer's tokens
    thoughts: int = 0  # thinking tokens

    @property
    def output(self) -> int:
        """Thinking tokens are output tokens, as OpenAI, Claude and Ollama count them."""
        return self.candidates + self.thoughts

    @property
    def uncached_prompt(self) -> int:
        """The prompt's tokens not read from the cache (Claude counts cache reads apart)."""
        return max(self.prompt - self.cached, 0)

    def updated(self, metadata: object) -> Usage:
        """These counts with the ones `metadata` has (a stream's chunks carry running totals)."""
        if not isinstance(metadata, dict) or not metadata:
            return self
        return Usage(
            _count(metadata, "promptTokenCount", self.prompt),
            _count(metadata, "cachedContentTokenCount", self.cached),
            _count(metadata, "candidatesTokenCount", self.candidates),
            _count(metadata, "thoughtsTokenCount", self.thoughts),
        )

    @classmethod
    def summed(cls, usages: Sequence[Usage]) -> Usage:
        """Several answers' counts together (legacy completions with several prompts)."""
        return cls(
            sum(usage.prompt for usage in usages),
            sum(usage.cached for usage in usages),
            sum(usage.candidates for usage in usages),
            sum(usage.thoughts for usage in usages),
        )


NO_USAGE = Usage()


def usage_of(response: JSON) -> Usage:
    return NO_USAGE.updated(response.get("usageMetadata"))


def _count(metadata: JSON, key: str, default: int) -> int:
    value = metadata.get(key)
    if value is None:
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


# --- a stream, chunk by chunk ---------------------------------------------------------------------------


class StreamReply:
    """What the chunks of one stream said so far: fed each chunk, returns the parts of its first candidate.

    Only one candidate is ever asked for in a stream. The latest finish reason and grounding are the whole
    picture (grounding arrives with the last chunk); token counts are running totals. `read` raises the
    blocked-prompt ApiError (the first chunk then has no candidates and a blockReason).
    """

    __slots__ = ("finish_reason", "grounding", "param", "usage")

    def __init__(self, param: str | None = None) -> None:
        self.param = param
        self.usage = NO_USAGE
        self.finish_reason: str | None = None
        self.grounding: JSON | None = None

    def read(self, chunk: JSON) -> Sequence[JSON]:
        metadata = chunk.get("usageMetadata")
        if metadata:
            self.usage = self.usage.updated(metadata)
        candidates = chunk.get("candidates")
        if not candidates:
            raise_if_blocked(chunk, self.param)
            return _NO_PARTS
        candidate = candidates[0]
        if not isinstance(candidate, dict):
            return _NO_PARTS
        reason = candidate.get("finishReason")
        if reason:
            self.finish_reason = reason
        grounding = candidate.get("groundingMetadata")
        if grounding:
            self.grounding = grounding
        content = candidate.get("content")
        if not content:
            return _NO_PARTS
        parts = content.get("parts")
        if not parts:
            return _NO_PARTS
        return parts  # type: ignore[no-any-return]  # the hot path: encoders skip parts that are not objects


# --- grounding (Google Search) --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WebSource:
    """One web page a search grounded the answer on."""

    url: str
    title: str


@dataclass(frozen=True, slots=True)
class Citation:
    """A grounding support: the source it cites for its segment of the answer text."""

    source_index: int  # in groundingChunks
    source: WebSource
    cited_text: str  # the segment's text as Gemini gave it ("" when it gave none)
    start: int  # character offsets of the segment in the answer text
    end: int


def web_sources(grounding: object) -> dict[int, WebSource]:
    """Index in groundingChunks -> the web source there (chunks that are not web pages are skipped)."""
    if not isinstance(grounding, dict):
        return {}
    sources: dict[int, WebSource] = {}
    for index, chunk in enumerate(grounding.get("groundingChunks") or ()):
        web = chunk.get("web") if isinstance(chunk, dict) else None
        uri = web.get("uri") if isinstance(web, dict) else None
        if isinstance(web, dict) and isinstance(uri, str):
            sources[index] = WebSource(uri, str(web.get("title") or uri))
    return sources


def search_queries(grounding: object) -> list[str]:
    if not isinstance(grounding, dict):
        return []
    return [query for query in grounding.get("webSearchQueries") or () if isinstance(query, str)]


def citations(grounding: object, text: str) -> list[Citation]:
    """Every grounding support's sources, each with where its segment sits in `text`."""
    if not isinstance(grounding, dict):
        return []
    sources = web_sources(grounding)
    found: list[Citation] = []
    for support in grounding.get("groundingSupports") or ():
        if not isinstance(support, dict):
            continue
        segment = support.get("segment")
        cited_text = str(segment.get("text") or "") if isinstance(segment, dict) else ""
        start, end = _char_span(segment, text)
        for index in support.get("groundingChunkIndices") or ():
            source = sources.get(index) if isinstance(index, int) else None
            if source is not None:
                found.append(Citation(index, source, cited_text, start, end))
    return found


def citations_of_every_source(grounding: object, text: str) -> list[Citation]:
    """`citations`, then each web source no support points at, cited for the whole text: every source the
    search used reaches the client."""
    supported = citations(grounding, text)
    cited = {citation.source_index for citation in supported}
    uncited = [
        Citation(index, source, "", 0, len(text))
        for index, source in web_sources(grounding).items()
        if index not in cited
    ]
    return supported + uncited


def _char_span(segment: Any, text: str) -> tuple[int, int]:
    """Character offsets of a grounding segment (Gemini counts UTF-8 bytes; clients count characters)."""
    if not isinstance(segment, dict):
        return 0, len(text)
    segment_text = segment.get("text")
    if isinstance(segment_text, str) and segment_text and (found := text.find(segment_text)) >= 0:
        return found, found + len(segment_text)
    encoded = text.encode()
    start, end = int(segment.get("startIndex") or 0), int(segment.get("endIndex") or len(encoded))
    start_chars = len(encoded[:start].decode(errors="ignore"))
    return start_chars, len(encoded[:end].decode(errors="ignore"))


# --- pictures in text-only answers ----------------------------------------------------------------------


def image_markdown(inline_data: JSON, text_so_far: str) -> str:
    """A generated image as markdown with a data URL, on its own paragraph after any text: how protocols
    whose answers are text only (OpenAI chat, completions, Responses, Ollama) show a picture."""
    separator = "\n\n" if text_so_far and not text_so_far.endswith("\n") else ""
    return f"{separator}![image]({image_data_url(inline_data)})"


def image_data_url(inline_data: JSON) -> str:
    mime_type = inline_data.get("mimeType") or "image/png"
    return f"data:{mime_type};base64,{inline_data.get('data', '')}"
