"""OpenAI legacy completion request -> one Gemini request per prompt, with clear 400s for what has no Gemini form."""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import invalid_request
from core.types import JSON
from server.openai.decode import check_n, conversation_key, decode_generation_config, include_usage
from server.protocol import Decoded
from server.request_parts import optional, request_model, short


@dataclass(frozen=True, slots=True)
class CompletionOptions:
    """What the legacy completion encoders read of one prompt's request."""

    index: int = 0  # the prompt's choice index
    echo: str = ""  # the prompt, when `echo` asked for it to open the answer
    include_usage: bool = False  # stream_options.include_usage


# Several prompts are served as concurrent upstream calls; a bound keeps one request from taking every account.
MAX_PROMPTS = 16


def decode(payload: object) -> list[Decoded[CompletionOptions]]:
    """Translate a `POST /v1/completions` body: one Decoded per prompt (options carry its choice index).

    The prompt becomes a user turn: Gemini models are chat models, there is no raw continuation mode.
    """
    payload, model = request_model(payload)
    _check_unsupported(payload)
    prompts = _prompts(payload.get("prompt"))
    stream = optional(payload, "stream", bool) or False
    if stream and len(prompts) > 1:
        raise invalid_request(
            "Streaming several prompts in one request is not supported; send one request per prompt "
            "or set stream to false.",
            "prompt",
        )
    generation_config = decode_generation_config(payload)
    echo = optional(payload, "echo", bool) or False
    usage_wanted = include_usage(payload.get("stream_options"))
    conversation = conversation_key(payload)
    decoded = []
    for index, prompt in enumerate(prompts):
        body: JSON = {"contents": [{"role": "user", "parts": [{"text": prompt}]}]}
        if generation_config:
            body["generationConfig"] = dict(generation_config)
        options = CompletionOptions(index, prompt if echo else "", usage_wanted)
        decoded.append(Decoded(model, body, stream, options, conversation))
    return decoded


def _prompts(prompt: object) -> list[str]:
    if isinstance(prompt, str):
        texts = [prompt]
    elif isinstance(prompt, list) and prompt and all(isinstance(item, str) for item in prompt):
        texts = list(prompt)
    elif isinstance(prompt, list) and prompt and all(isinstance(item, int | list) for item in prompt):
        raise invalid_request(
            "Token-array prompts are not supported (the upstream has a different tokenizer); send text.",
            "prompt",
        )
    else:
        raise invalid_request("'prompt' is required: a string or a non-empty array of strings.", "prompt")
    if len(texts) > MAX_PROMPTS:
        raise invalid_request(f"At most {MAX_PROMPTS} prompts are accepted in one request.", "prompt")
    for index, text in enumerate(texts):
        if not text:
            where = "prompt" if isinstance(prompt, str) else f"prompt[{index}]"
            raise invalid_request(f"{where} must not be empty.", "prompt")
    return texts


def _check_unsupported(payload: JSON) -> None:
    """Parameters Gemini cannot honour are refused rather than silently ignored."""
    check_n(payload.get("n"))
    suffix = payload.get("suffix")
    if suffix not in (None, ""):
        raise invalid_request(
            "'suffix' (text insertion) is not supported by the upstream models; leave it out.", "suffix"
        )
    best_of = payload.get("best_of")
    if best_of not in (None, 1):
        raise invalid_request(f"'best_of' {short(best_of)} is not supported; only 1 is.", "best_of")
    logprobs = payload.get("logprobs")
    if logprobs not in (None, 0, False):
        raise invalid_request("'logprobs' is not supported; leave it out.", "logprobs")
    if payload.get("logit_bias"):
        raise invalid_request("'logit_bias' is not supported; leave it out.", "logit_bias")
