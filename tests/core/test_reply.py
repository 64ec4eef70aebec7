"""The one reader of Gemini replies: blocked prompts, candidates, parts, running token counts, grounding."""

from __future__ import annotations

import pytest

from core.errors import ApiError
from core.reply import (
    StreamReply,
    Usage,
    answer_candidates,
    citations,
    citations_of_every_source,
    image_markdown,
    parts_of,
    usage_of,
)
from core.types import JSON

GROUNDING = {
    "groundingChunks": [
        {"web": {"uri": "https://a.example/", "title": "A"}},
        {"retrievedContext": {"uri": "gs://not-a-web-page"}},
        {"web": {"uri": "https://b.example/"}},
        {"web": {"uri": "https://c.example/", "title": "C"}},
    ],
    "groundingSupports": [
        {"segment": {"text": "Paris is big"}, "groundingChunkIndices": [0, 1, 2]},
        {"segment": {"startIndex": 0, "endIndex": 3}, "groundingChunkIndices": [7, "x"]},
    ],
}


def test_a_blocked_prompt_is_a_400_naming_the_field_and_the_reason() -> None:
    with pytest.raises(ApiError) as caught:
        answer_candidates(
            {"promptFeedback": {"blockReason": "SAFETY", "blockReasonMessage": "No."}}, "messages"
        )
    assert (caught.value.status, caught.value.param) == (400, "messages")
    assert "SAFETY" in caught.value.message and "No." in caught.value.message


def test_no_candidates_and_no_reason_is_the_upstreams_fault() -> None:
    malformed: tuple[JSON, ...] = ({}, {"candidates": []}, {"candidates": "nonsense"})
    for response in malformed:
        with pytest.raises(ApiError) as caught:
            answer_candidates(response)
        assert caught.value.status == 502


def test_parts_of_keeps_only_objects() -> None:
    candidate = {"content": {"parts": [{"text": "a"}, "stray", None, {"text": "b"}]}}
    assert list(parts_of(candidate)) == [{"text": "a"}, {"text": "b"}]
    assert list(parts_of({})) == [] and list(parts_of({"content": {"parts": None}})) == []


def test_usage_counts_thinking_as_output_and_cache_reads_apart() -> None:
    usage = usage_of(
        {
            "usageMetadata": {
                "promptTokenCount": 10,
                "cachedContentTokenCount": 4,
                "candidatesTokenCount": 5,
                "thoughtsTokenCount": 3,
            }
        }
    )
    assert (usage.prompt, usage.uncached_prompt, usage.output, usage.thoughts) == (10, 6, 8, 3)
    assert Usage.summed([usage, usage]).output == 16


def test_a_stream_keeps_running_totals_the_latest_finish_reason_and_grounding() -> None:
    reply = StreamReply("input")
    assert reply.read({"usageMetadata": {"promptTokenCount": 7}}) == ()
    parts = reply.read({"candidates": [{"content": {"parts": [{"text": "Hi"}]}}]})
    assert list(parts) == [{"text": "Hi"}]
    reply.read(
        {
            "candidates": [
                {"content": {"parts": []}, "finishReason": "STOP", "groundingMetadata": GROUNDING}
            ],
            "usageMetadata": {"candidatesTokenCount": 2},  # no prompt count here: the earlier one stands
        }
    )
    assert (reply.usage.prompt, reply.usage.output) == (7, 2)
    assert reply.finish_reason == "STOP" and reply.grounding == GROUNDING


def test_a_stream_whose_first_chunk_blocks_the_prompt_raises() -> None:
    with pytest.raises(ApiError) as caught:
        StreamReply("prompt").read({"promptFeedback": {"blockReason": "OTHER"}})
    assert (caught.value.status, caught.value.param) == (400, "prompt")


def test_citations_place_each_supported_web_source_on_its_segment() -> None:
    text = "Yes. Paris is big."
    found = citations(GROUNDING, text)
    assert [(c.source.url, c.source.title, c.cited_text, c.start, c.end) for c in found] == [
        ("https://a.example/", "A", "Paris is big", 5, 17),
        ("https://b.example/", "https://b.example/", "Paris is big", 5, 17),
    ]
    every = citations_of_every_source(GROUNDING, text)
    assert [(c.source.url, c.start, c.end) for c in every[2:]] == [("https://c.example/", 0, len(text))]
    assert citations(None, text) == [] and citations_of_every_source("junk", text) == []


def test_an_image_in_a_text_answer_starts_its_own_paragraph() -> None:
    image = {"mimeType": "image/jpeg", "data": "QUJD"}
    assert image_markdown(image, "") == "![image](data:image/jpeg;base64,QUJD)"
    assert image_markdown(image, "Here:").startswith("\n\n![image](")
    assert image_markdown({"data": "QUJD"}, "Done.\n") == "![image](data:image/png;base64,QUJD)"
