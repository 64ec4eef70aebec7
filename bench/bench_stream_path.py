"""The gateway's own per-event stream work, in process: SSE parsing, JSON, restoring, each protocol's encoder.

`--tree PATH` measures the code of another source tree (e.g. a worktree at main) with this same script, so two
trees compare side by side. CPU time, best of `--rounds`: what the code costs, whatever else runs on the machine.
The socket work (reads, writes, wake-ups) is not here: bench_gateway.py measures the whole gateway.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

EVENTS = 1000
READ_SIZE = 4096  # bytes per upstream read: several events each, as a busy socket delivers them


def _upstream_stream() -> bytes:
    """A 1,000-event Cloud Code answer as the fake sends it (SSE, one word per event, in the envelope)."""
    chunks = [
        {
            "response": {
                "candidates": [{"content": {"role": "model", "parts": [{"text": f"w{i} "}]}}],
                "modelVersion": "gemini-3-flash",
                "responseId": "abcdefghijkl",
            },
            "traceId": "0123456789abcdef",
        }
        for i in range(EVENTS)
    ]
    return b"".join(b"data: " + json.dumps(chunk).encode() + b"\r\n\r\n" for chunk in chunks)


def _encoders() -> dict[str, Callable[[], Any]]:
    """A new stream encoder per protocol, for the tree on sys.path."""
    from server.anthropic.stream import MessagesStreamEncoder
    from server.gemini.stream import GeminiStreamEncoder
    from server.ollama.stream import ChatStreamEncoder as OllamaChatEncoder
    from server.openai.stream import ChatStreamEncoder
    from server.openai_responses.stream import ResponsesStreamEncoder
    from server.protocol import Decoded

    def decoded(options: Any) -> Any:
        return Decoded(model="gemini-3-flash", body={"contents": []}, stream=True, options=options)

    try:
        from server.anthropic.decode import MessagesOptions
        from server.ollama.decode import OllamaOptions
        from server.openai.decode import ChatOptions
        from server.openai_responses.decode import ResponsesOptions

        options: dict[str, Any] = {
            "OpenAI": ChatOptions(),
            "Anthropic": MessagesOptions(),
            "Gemini": None,
            "Ollama": OllamaOptions("chat", "gemini-3-flash", time.perf_counter()),
            "Responses": ResponsesOptions(),
        }
    except ImportError:  # a tree from before the typed options: a dict for every protocol
        options = {name: {} for name in ("OpenAI", "Anthropic", "Gemini", "Ollama", "Responses")}
    return {
        "OpenAI": lambda: ChatStreamEncoder(decoded(options["OpenAI"])),
        "Anthropic": lambda: MessagesStreamEncoder(decoded(options["Anthropic"])),
        "Gemini": lambda: GeminiStreamEncoder(decoded(options["Gemini"]), sse=True),
        "Ollama": lambda: OllamaChatEncoder(decoded(options["Ollama"])),
        "Responses": lambda: ResponsesStreamEncoder(decoded(options["Responses"])),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tree", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    sys.path.insert(0, str(args.tree.resolve()))
    from core.cloudcode import _stream_chunk
    from core.sse import SseParser
    from core.transform import restore_response

    class NoSignatures:
        def remember(self, *_args: object) -> None:
            pass

    raw = _upstream_stream()

    def one_stream(new_encoder: Callable[[], Any]) -> float:
        started = time.process_time()
        parser, encoder, signatures = SseParser(), new_encoder(), NoSignatures()
        out = [encoder.start()]
        for offset in range(0, len(raw), READ_SIZE):
            for data in parser.feed(raw[offset : offset + READ_SIZE]):
                chunk = _stream_chunk(data, "gemini-3-flash", True)
                out.append(encoder.feed(restore_response(chunk, {}, signatures, None)))  # type: ignore[arg-type]
        out.append(encoder.finish())
        return time.process_time() - started

    print(f"{args.tree}: CPU per event, best of {args.rounds}")
    for name, new_encoder in _encoders().items():
        best = min(one_stream(new_encoder) for _ in range(args.rounds))
        print(f"| {name} | {best / EVENTS * 1e6:.2f} µs |")


if __name__ == "__main__":
    main()
