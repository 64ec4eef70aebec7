"""Tests of the fake Google upstream itself, talked to with a raw aiohttp client."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from yarl import URL

from core.config import Settings
from tests.fake_google import EMPTY_NON_STREAM_MODELS, FakeAccount, FakeGoogle, Fault, Reply

UA = {"User-Agent": "antigravity/hub/2.9.1 linux/amd64"}
Json = dict[str, Any]


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


# Cloud Code serves no 2.5 model any more (late 2026); the Gemini API still does.
CLOUD_PRO, CLOUD_FLASH = "gemini-3.1-pro-high", "gemini-3-flash"
API_PRO, API_FLASH = "gemini-2.5-pro", "gemini-2.5-flash"


@dataclass
class Answer:
    status: int
    body: Any


@dataclass
class Caller:
    """Speaks to the fake as a client would: Cloud Code with a Google account, the Gemini API with a key."""

    fake: FakeGoogle
    http: aiohttp.ClientSession
    account: FakeAccount
    access_token: str
    api_key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}", **UA}

    async def cloud(
        self, method: str, body: Any, *, endpoint: int = 0, headers: dict[str, str] | None = None
    ) -> Answer:
        url = f"{self.fake.endpoints[endpoint]}/v1internal:{method}"
        async with self.http.post(url, json=body, headers=headers or self.headers) as response:
            return Answer(response.status, await response.json())

    def envelope(self, request: Json, model: str = CLOUD_PRO) -> Json:
        return {
            "project": self.account.project_id,
            "model": model,
            "requestId": secrets.token_hex(4),
            "requestType": "agent",
            "request": request,
        }

    async def generate(self, request: Json, model: str = CLOUD_PRO) -> Answer:
        return await self.cloud("generateContent", self.envelope(request, model))

    async def api(self, model: str, method: str, body: Any, **query: str) -> Answer:
        url = URL(f"{self.fake.base_url}/v1beta/models/{model}:{method}").with_query(query)
        async with self.http.post(url, json=body, headers={"x-goog-api-key": self.api_key}) as response:
            return Answer(response.status, await response.json())

    async def via(self, upstream: str, request: Json, model: str | None = None) -> Answer:
        """generateContent on either upstream (by default with its Pro model); the Gemini response, unwrapped."""
        model = model or (CLOUD_PRO if upstream == "cloudcode" else API_PRO)
        if upstream == "cloudcode":
            answer = await self.generate(request, model)
            if answer.status == 200:
                assert set(answer.body) == {"response", "traceId"}
                return Answer(200, answer.body["response"])
            return answer
        return await self.api(model, "generateContent", request)

    async def stream(self, upstream: str, request: Json, model: str | None = None) -> list[Json]:
        """streamGenerateContent?alt=sse; the raw JSON of every SSE event, checking the framing on the way."""
        model = model or (CLOUD_PRO if upstream == "cloudcode" else API_PRO)
        if upstream == "cloudcode":
            url = f"{self.fake.endpoints[0]}/v1internal:streamGenerateContent?alt=sse"
            body, headers = self.envelope(request, model), self.headers
        else:
            url = f"{self.fake.base_url}/v1beta/models/{model}:streamGenerateContent?alt=sse"
            body, headers = request, {"x-goog-api-key": self.api_key}
        async with self.http.post(url, json=body, headers=headers) as response:
            assert response.status == 200, await response.text()
            assert response.headers["Content-Type"].startswith("text/event-stream")
            raw = await response.read()
        events = raw.split(b"\r\n\r\n")
        assert events[-1] == b""  # every event ends with a blank line
        assert all(event.startswith(b"data: ") for event in events[:-1])
        return [json.loads(event[6:]) for event in events[:-1]]


async def access_token(fake: FakeGoogle, http: aiohttp.ClientSession, refresh_token: str) -> str:
    answer = await refresh(fake, http, refresh_token)
    assert answer.status == 200, answer.body
    token: str = answer.body["access_token"]
    return token


async def refresh(fake: FakeGoogle, http: aiohttp.ClientSession, token: str, **override: str) -> Answer:
    form = {
        "grant_type": "refresh_token",
        "refresh_token": token,
        "client_id": fake.client_id,
        "client_secret": fake.client_secret,
        **override,
    }
    async with http.post(f"{fake.base_url}/token", data=form) as response:
        return Answer(response.status, await response.json())


@pytest.fixture
async def caller(fake_google: FakeGoogle, http: aiohttp.ClientSession) -> Caller:
    # These tests read whole generateContent replies on Cloud Code; by default the fake answers the models
    # Google answers empty there (test_non_streaming_answers_are_empty_on_stream_only_models) with nothing.
    fake_google.empty_non_stream_models = ()
    account = fake_google.add_google_account("a@example.com", project_id="proj-a")
    token = await access_token(fake_google, http, account.refresh_token)
    return Caller(fake_google, http, account, token, fake_google.add_api_key())


async def test_non_streaming_answers_are_empty_on_stream_only_models(
    fake_google: FakeGoogle, caller: Caller
) -> None:
    fake_google.empty_non_stream_models = EMPTY_NON_STREAM_MODELS
    for model in ("claude-sonnet-4-5", CLOUD_PRO):
        whole = await caller.generate({"contents": [user("hello there")]}, model)
        assert whole.status == 200 and whole.body["response"]["candidates"][0]["content"]["parts"] == [
            {"text": ""}
        ]
        streamed = await caller.stream("cloudcode", {"contents": [user("hello there")]}, model)
        assert "".join(
            p["text"] for e in streamed for p in e["response"]["candidates"][0]["content"]["parts"]
        ) == ("Echo: hello there")
    assert (
        text_of((await caller.via("gemini_api", {"contents": [user("hi")]})).body) == "Echo: hi"
    )  # keys: full


def user(text: str) -> Json:
    return {"role": "user", "parts": [{"text": text}]}


def text_of(response: Json) -> str:
    parts = response["candidates"][0]["content"]["parts"]
    return "".join(p["text"] for p in parts if "text" in p and not p.get("thought"))


def reason_of(body: Json) -> str | None:
    for detail in body["error"].get("details", []):
        if detail["@type"] == "type.googleapis.com/google.rpc.ErrorInfo":
            reason: str = detail["reason"]
            return reason
    return None


def detail(body: Json, kind: str) -> Json:
    found: Json = next(d for d in body["error"]["details"] if d["@type"].endswith(kind))
    return found


WEATHER_TOOL = {
    "functionDeclarations": [
        {
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        }
    ]
}
UPSTREAMS = ["cloudcode", "gemini_api"]


# -------------------------------------------------------------------------------------------- settings


async def test_settings_point_the_gateway_at_the_fake(fake_google: FakeGoogle, tmp_path: Path) -> None:
    settings = fake_google.settings(tmp_path)
    assert isinstance(settings, Settings)
    assert settings.home == tmp_path
    assert settings.upstream.endpoints == fake_google.endpoints
    assert [URL(e).path for e in fake_google.endpoints] == ["/sandbox", "/daily", "/prod"]
    assert settings.gemini_api.base_url == fake_google.base_url
    for url in (settings.oauth.auth_url, settings.oauth.token_url, settings.oauth.userinfo_url):
        assert url.startswith(fake_google.base_url)
    assert (settings.oauth.client_id, settings.oauth.client_secret) == (
        fake_google.client_id,
        fake_google.client_secret,
    )
    assert settings.server.api_keys == [] and settings.server.port == 0
    assert settings.upstream.retry_budget_s <= 5


# ----------------------------------------------------------------------------------------------- OAuth


async def test_refresh_grant_gives_a_working_access_token(
    fake_google: FakeGoogle, http: aiohttp.ClientSession
) -> None:
    account = fake_google.add_google_account("Jane.Doe@example.com")
    answer = await refresh(fake_google, http, account.refresh_token)
    assert answer.status == 200
    assert answer.body["token_type"] == "Bearer" and answer.body["expires_in"] == 3599
    assert "refresh_token" not in answer.body
    headers = {"Authorization": f"Bearer {answer.body['access_token']}"}
    async with http.get(f"{fake_google.base_url}/oauth2/v2/userinfo", headers=headers) as response:
        info = await response.json()
    assert response.status == 200
    assert info["email"] == "Jane.Doe@example.com" and info["name"] == "Jane Doe"
    assert info["id"] and info["picture"].startswith("https://")


@pytest.mark.parametrize(
    ("override", "status", "error"),
    [
        ({"client_id": "someone-else.apps.googleusercontent.com"}, 401, "invalid_client"),
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"refresh_token": "1//never-issued"}, 400, "invalid_grant"),
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
    ],
)
async def test_token_endpoint_refuses(
    fake_google: FakeGoogle, http: aiohttp.ClientSession, override: dict[str, str], status: int, error: str
) -> None:
    account = fake_google.add_google_account("a@example.com")
    answer = await refresh(fake_google, http, account.refresh_token, **override)
    assert (answer.status, answer.body["error"]) == (status, error)
    assert "error_description" in answer.body


async def test_revoked_refresh_token_is_invalid_grant(
    fake_google: FakeGoogle, http: aiohttp.ClientSession
) -> None:
    account = fake_google.add_google_account("a@example.com")
    await access_token(fake_google, http, account.refresh_token)
    fake_google.revoke(account.refresh_token)
    answer = await refresh(fake_google, http, account.refresh_token)
    assert answer.status == 400
    assert answer.body == {
        "error": "invalid_grant",
        "error_description": "Token has been expired or revoked.",
    }


async def test_token_endpoint_wants_a_form(fake_google: FakeGoogle, http: aiohttp.ClientSession) -> None:
    account = fake_google.add_google_account("a@example.com")
    body = {"grant_type": "refresh_token", "refresh_token": account.refresh_token}
    async with http.post(f"{fake_google.base_url}/token", json=body) as response:
        assert response.status == 400
        assert (await response.json())["error"] == "invalid_request"


async def test_access_tokens_expire(http: aiohttp.ClientSession) -> None:
    async with FakeGoogle(access_token_ttl=0.05) as fake:
        account = fake.add_google_account("a@example.com")
        headers = {"Authorization": f"Bearer {await access_token(fake, http, account.refresh_token)}"}
        async with http.get(f"{fake.base_url}/oauth2/v2/userinfo", headers=headers) as response:
            assert response.status == 200
        await asyncio.sleep(0.1)
        async with http.get(f"{fake.base_url}/oauth2/v2/userinfo", headers=headers) as response:
            assert response.status == 401
            assert (await response.json())["error"]["status"] == "UNAUTHENTICATED"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


async def consent(fake: FakeGoogle, http: aiohttp.ClientSession, **params: str) -> aiohttp.ClientResponse:
    query = {
        "client_id": fake.client_id,
        "redirect_uri": "http://127.0.0.1:5555/oauth-callback",
        "response_type": "code",
        "scope": "openid https://www.googleapis.com/auth/cloud-platform",
        "access_type": "offline",
        "prompt": "consent",
        "state": "st-123",
        **params,
    }
    url = URL(f"{fake.base_url}/o/oauth2/v2/auth").with_query(query)
    async with http.get(url, allow_redirects=False) as response:
        await response.read()
        return response


async def exchange(
    fake: FakeGoogle, http: aiohttp.ClientSession, code: str, verifier: str | None, **extra: str
) -> Answer:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": "http://127.0.0.1:5555/oauth-callback",
        "client_id": fake.client_id,
        "client_secret": fake.client_secret,
        **extra,
    }
    if verifier is not None:
        form["code_verifier"] = verifier
    async with http.post(f"{fake.base_url}/token", data=form) as response:
        return Answer(response.status, await response.json())


async def test_code_flow_with_pkce(fake_google: FakeGoogle, http: aiohttp.ClientSession) -> None:
    fake_google.consent_email = "new@example.com"
    verifier, challenge = pkce_pair()
    response = await consent(fake_google, http, code_challenge=challenge, code_challenge_method="S256")
    assert response.status == 302
    location = URL(response.headers["Location"])
    assert location.with_query(None) == URL("http://127.0.0.1:5555/oauth-callback")
    assert location.query["state"] == "st-123"
    code = location.query["code"]

    tokens = await exchange(fake_google, http, code, verifier)
    assert tokens.status == 200, tokens.body
    assert tokens.body["refresh_token"] and tokens.body["access_token"] and tokens.body["id_token"]
    # The new refresh token works, and it belongs to the signed-in account.
    token = await access_token(fake_google, http, tokens.body["refresh_token"])
    async with http.get(
        f"{fake_google.base_url}/oauth2/v2/userinfo", headers={"Authorization": f"Bearer {token}"}
    ) as r:
        assert (await r.json())["email"] == "new@example.com"
    # A code works once.
    again = await exchange(fake_google, http, code, verifier)
    assert (again.status, again.body["error"]) == (400, "invalid_grant")


@pytest.mark.parametrize(
    ("verifier", "extra", "error"),
    [
        ("wrong-verifier-" + "x" * 40, {}, "invalid_grant"),
        (None, {}, "invalid_grant"),
        ("RIGHT", {"redirect_uri": "http://127.0.0.1:6666/oauth-callback"}, "redirect_uri_mismatch"),
    ],
)
async def test_code_exchange_refuses(
    fake_google: FakeGoogle,
    http: aiohttp.ClientSession,
    verifier: str | None,
    extra: dict[str, str],
    error: str,
) -> None:
    fake_google.consent_email = "a@example.com"
    right, challenge = pkce_pair()
    response = await consent(fake_google, http, code_challenge=challenge, code_challenge_method="S256")
    code = URL(response.headers["Location"]).query["code"]
    answer = await exchange(fake_google, http, code, right if verifier == "RIGHT" else verifier, **extra)
    assert (answer.status, answer.body["error"]) == (400, error)


async def test_no_refresh_token_without_offline_access(
    fake_google: FakeGoogle, http: aiohttp.ClientSession
) -> None:
    fake_google.consent_email = "a@example.com"
    response = await consent(fake_google, http, access_type="online")
    tokens = await exchange(fake_google, http, URL(response.headers["Location"]).query["code"], None)
    assert tokens.status == 200 and "refresh_token" not in tokens.body


async def test_consent_denied_and_waiting(fake_google: FakeGoogle, http: aiohttp.ClientSession) -> None:
    waiting = await consent(fake_google, http)
    assert waiting.status == 200  # nobody has picked an account yet
    fake_google.consent_email = "a@example.com"
    fake_google.deny_consent = True
    denied = await consent(fake_google, http)
    assert denied.status == 302
    assert dict(URL(denied.headers["Location"]).query) == {"error": "access_denied", "state": "st-123"}


@pytest.mark.parametrize(
    "params",
    [
        {"client_id": "other.apps.googleusercontent.com"},
        {"redirect_uri": "https://evil.example.com/cb"},
        {"scope": "openid email"},
        {"code_challenge": "abc", "code_challenge_method": "plain"},
        {"response_type": "token"},
    ],
)
async def test_consent_refuses_bad_requests(
    fake_google: FakeGoogle, http: aiohttp.ClientSession, params: dict[str, str]
) -> None:
    fake_google.consent_email = "a@example.com"
    response = await consent(fake_google, http, **params)
    assert response.status in (400, 401)


# ----------------------------------------------------------------------------------- Cloud Code basics


async def test_cloud_code_needs_a_live_bearer(caller: Caller) -> None:
    for headers in (UA, {"Authorization": "Bearer ya29.made-up", **UA}):
        answer = await caller.cloud("loadCodeAssist", {"metadata": {}}, headers=headers)
        assert answer.status == 401
        assert answer.body["error"]["status"] == "UNAUTHENTICATED"
        assert answer.body["error"]["code"] == 401


@pytest.mark.parametrize(
    "agent",
    [
        "antigravity/hub/2.8.9 linux/amd64",
        "antigravity/2.9.1 linux/amd64",
        "gemini-cli/1.20.0",
        "",
        "antigravity/",
    ],
)
async def test_stale_or_missing_client_version_is_refused(caller: Caller, agent: str) -> None:
    headers = {"Authorization": f"Bearer {caller.access_token}", "User-Agent": agent}
    answer = await caller.cloud("loadCodeAssist", {"metadata": {}}, headers=headers)
    assert answer.status == 400
    assert "no longer supported" in answer.body["error"]["message"]


async def test_newer_client_version_is_accepted(caller: Caller) -> None:
    headers = {
        "Authorization": f"Bearer {caller.access_token}",
        "User-Agent": "antigravity/hub/2.10 darwin/arm64",
    }
    assert (await caller.cloud("loadCodeAssist", {}, headers=headers)).status == 200


async def test_unknown_method_is_not_found(caller: Caller) -> None:
    answer = await caller.cloud("launchMissiles", {})
    assert (answer.status, answer.body["error"]["status"]) == (404, "NOT_FOUND")


async def test_load_code_assist_reports_project_and_tiers(caller: Caller) -> None:
    answer = await caller.cloud("loadCodeAssist", {"metadata": {"ideType": "ANTIGRAVITY"}}, endpoint=2)
    assert answer.status == 200
    assert answer.body["cloudaicompanionProject"] == "proj-a"
    assert answer.body["currentTier"]["id"] == "standard-tier" and answer.body["currentTier"]["name"]
    defaults = [tier for tier in answer.body["allowedTiers"] if tier["isDefault"]]
    assert len(defaults) == 1 and defaults[0]["id"] and defaults[0]["name"]


async def test_onboarding_is_a_long_running_operation(
    fake_google: FakeGoogle, http: aiohttp.ClientSession
) -> None:
    account = fake_google.add_google_account("new@example.com", project_id=None)
    me = Caller(fake_google, http, account, await access_token(fake_google, http, account.refresh_token), "")
    loaded = await me.cloud("loadCodeAssist", {})
    assert "cloudaicompanionProject" not in loaded.body
    tier = next(t["id"] for t in loaded.body["allowedTiers"] if t["isDefault"])
    assert (await me.cloud("onboardUser", {"tierId": "no-such-tier"})).status == 400
    first = await me.cloud("onboardUser", {"tierId": tier, "metadata": {}})
    assert first.status == 200 and first.body["done"] is False and first.body["name"]
    second = await me.cloud("onboardUser", {"tierId": tier, "metadata": {}})
    assert second.body["done"] is True
    project = second.body["response"]["cloudaicompanionProject"]["id"]
    assert re.fullmatch(r"proj-\d+", project)
    assert (await me.cloud("loadCodeAssist", {})).body["cloudaicompanionProject"] == project
    me.account.project_id = project
    assert (await me.generate({"contents": [user("hi")]})).status == 200


async def test_fetch_available_models_shape(fake_google: FakeGoogle, caller: Caller) -> None:
    fake_google.set_remaining("a@example.com", "gemini-3-flash", 0.0, reset_in_s=600)
    fake_google.set_remaining("a@example.com", "gemini-3.1-pro-high", 0.25)
    answer = await caller.cloud("fetchAvailableModels", {"project": "proj-a"})
    assert answer.status == 200
    models = answer.body["models"]
    assert set(models) == {
        "gemini-3.1-pro-high",
        "gemini-3-flash",
        "gemini-3-pro-preview",
        "claude-sonnet-4-5",
        "claude-sonnet-4-5-thinking",
    }
    assert models["gemini-3.1-pro-high"]["quotaInfo"]["remainingFraction"] == 0.25
    assert "remainingFraction" not in models["gemini-3-flash"]["quotaInfo"]  # 0 is left out
    # Retired on this channel: not listed, named as forwarded to the replacement, refused like any unknown model.
    assert answer.body["deprecatedModelIds"]["gemini-2.5-pro"] == {"newModelId": "gemini-3.1-pro-high"}
    refused = await caller.generate({"contents": [user("hi")]}, "gemini-2.5-pro")
    assert refused.status == 404 and refused.body["error"]["status"] == "NOT_FOUND"
    with pytest.raises(ValueError, match="no longer serves"):
        fake_google.add_google_account("old@example.com", models={"gemini-2.5-flash": 1.0})
    reset = models["gemini-3-flash"]["quotaInfo"]["resetTime"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", reset)
    assert 500 < time.mktime(time.strptime(reset, "%Y-%m-%dT%H:%M:%SZ")) - time.mktime(time.gmtime()) < 700
    for entry in models.values():
        assert entry["displayName"] and entry["maxOutputTokens"] > 0
    assert models["claude-sonnet-4-5-thinking"]["supportsThinking"] is True
    assert all(new["newModelId"] in models for new in answer.body["deprecatedModelIds"].values())
    wrong = await caller.cloud("fetchAvailableModels", {"project": "proj-someone-else"})
    assert wrong.status == 403


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"project": "proj-other"}, 403),
        ({"project": None}, 403),
        ({"model": "gemini-9-ultra"}, 404),
        ({"requestId": None}, 400),
        ({"request": None}, 400),
    ],
)
async def test_generate_envelope_rules(caller: Caller, change: Json, status: int) -> None:
    body = caller.envelope({"contents": [user("hi")]})
    for key, value in change.items():
        if value is None:
            del body[key]
        else:
            body[key] = value
    answer = await caller.cloud("generateContent", body)
    assert answer.status == status
    assert answer.body["error"]["code"] == status and answer.body["error"]["message"]


async def test_stream_needs_alt_sse(caller: Caller) -> None:
    answer = await caller.cloud("streamGenerateContent", caller.envelope({"contents": [user("hi")]}))
    assert answer.status == 400
    assert (
        await caller.api("gemini-2.5-pro", "streamGenerateContent", {"contents": [user("hi")]})
    ).status == 400


# --------------------------------------------------------------------------------- Gemini format rules


def schema_with(keyword: str) -> Json:
    """A valid-looking schema with `keyword` buried two levels deep."""
    deep: Json = {"type": "string", keyword: "x" if keyword != "$defs" else {}}
    properties = {"outer": {"type": "object", "properties": {"inner": {"type": "array", "items": deep}}}}
    return {"type": "object", "properties": properties}


def tool_with(parameters: Json, name: str = "f") -> Json:
    return {"functionDeclarations": [{"name": name, "description": "d", "parameters": parameters}]}


BROKEN_REQUESTS: dict[str, tuple[Json, str]] = {
    "role system": ({"contents": [{"role": "system", "parts": [{"text": "x"}]}, user("hi")]}, "valid role"),
    "role assistant": (
        {"contents": [user("hi"), {"role": "assistant", "parts": [{"text": "x"}]}]},
        "valid role",
    ),
    "empty parts": ({"contents": [{"role": "user", "parts": []}]}, "parts"),
    "no parts": ({"contents": [{"role": "user"}]}, "parts"),
    "empty part": ({"contents": [{"role": "user", "parts": [{}]}]}, "data"),
    "no contents": ({"contents": []}, "contents"),
    "system as string": ({"contents": [user("hi")], "systemInstruction": "be nice"}, "system_instruction"),
    "unknown field": ({"contents": [user("hi")], "temperature": 0.2}, "Unknown name"),
    "name with a digit first": ({"contents": [user("hi")], "tools": [tool_with({}, "1st")]}, "function name"),
    "name too long": ({"contents": [user("hi")], "tools": [tool_with({}, "f" * 65)]}, "function name"),
    "name with a space": (
        {"contents": [user("hi")], "tools": [tool_with({}, "get weather")]},
        "function name",
    ),
    "search with functions": (
        {"contents": [user("hi")], "tools": [{"googleSearch": {}}, WEATHER_TOOL]},
        "search tools",
    ),
    "url context with functions": (
        {"contents": [user("hi")], "tools": [{"urlContext": {}, **WEATHER_TOOL}]},
        "search tools",
    ),
    "budget not below max": (
        {
            "contents": [user("hi")],
            "generationConfig": {"maxOutputTokens": 1024, "thinkingConfig": {"thinkingBudget": 1024}},
        },
        "thinking_budget",
    ),
    "functionResponse without name": (
        {"contents": [{"role": "user", "parts": [{"functionResponse": {"response": {"x": 1}}}]}]},
        "Name is required",
    ),
    "functionResponse response not an object": (
        {"contents": [{"role": "user", "parts": [{"functionResponse": {"name": "f", "response": "sunny"}}]}]},
        "Struct",
    ),
    "schema type list": (
        {
            "contents": [user("hi")],
            "tools": [tool_with({"type": "object", "properties": {"a": {"type": ["string", "null"]}}})],
        },
        "type",
    ),
    **{
        f"schema {keyword}": ({"contents": [user("hi")], "tools": [tool_with(schema_with(keyword))]}, keyword)
        for keyword in ("const", "$ref", "$defs", "definitions", "$schema", "$id", "default", "examples")
    },
}


@pytest.mark.parametrize("upstream", UPSTREAMS)
@pytest.mark.parametrize("case", list(BROKEN_REQUESTS))
async def test_gemini_format_rules_are_enforced(caller: Caller, upstream: str, case: str) -> None:
    request, fragment = BROKEN_REQUESTS[case]
    answer = await caller.via(upstream, request)
    assert answer.status == 400, answer.body
    assert answer.body["error"]["status"] == "INVALID_ARGUMENT"
    assert fragment in answer.body["error"]["message"]


@pytest.mark.parametrize("upstream", UPSTREAMS)
async def test_a_rich_valid_request_passes(caller: Caller, upstream: str) -> None:
    parameters = {
        "type": "OBJECT",
        "properties": {
            # Property *names* that look like forbidden keywords are fine.
            "default": {"type": "string", "enum": ["a", "b"], "nullable": True},
            "examples": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
            "options": {"type": "object", "additionalProperties": {"type": "boolean"}},
        },
        "required": ["default"],
    }
    request = {
        "contents": [user("hi"), {"role": "model", "parts": [{"text": "hello"}]}, user("again")],
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "tools": [tool_with(parameters, "ns.tool:do-it_1")],
        "toolConfig": {"functionCallingConfig": {"mode": "AUTO"}},
        "generationConfig": {
            "maxOutputTokens": 2048,
            "thinkingConfig": {"thinkingBudget": 1024},
            "temperature": 0.3,
        },
        "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}],
    }
    answer = await caller.via(upstream, request)
    assert answer.status == 200, answer.body
    assert text_of(answer.body) == "Echo: again"


# --------------------------------------------------------------------------------------------- replies


@pytest.mark.parametrize("upstream", UPSTREAMS)
async def test_echo_reply_and_usage(caller: Caller, upstream: str) -> None:
    request = {"systemInstruction": {"parts": [{"text": "x" * 20}]}, "contents": [user("one two three")]}
    answer = await caller.via(upstream, request)
    response = answer.body
    assert text_of(response) == "Echo: one two three"
    assert response["candidates"][0]["finishReason"] == "STOP"
    usage = response["usageMetadata"]
    assert usage["promptTokenCount"] == (20 + len("one two three")) // 4
    assert usage["candidatesTokenCount"] == 4
    assert usage["totalTokenCount"] == usage["promptTokenCount"] + 4


@pytest.mark.parametrize("upstream", UPSTREAMS)
async def test_stream_sends_a_word_per_chunk(caller: Caller, upstream: str) -> None:
    events = await caller.stream(upstream, {"contents": [user("alpha beta gamma")]})
    if upstream == "cloudcode":
        assert all(set(event) == {"response", "traceId"} for event in events)
        chunks = [event["response"] for event in events]
    else:
        assert all("candidates" in event for event in events)
        chunks = events
    assert [text_of(chunk) for chunk in chunks] == ["Echo:", " alpha", " beta", " gamma"]
    assert [c["candidates"][0].get("finishReason") for c in chunks] == [None, None, None, "STOP"]
    assert "usageMetadata" in chunks[-1] and "usageMetadata" not in chunks[0]


@pytest.mark.parametrize("upstream", UPSTREAMS)
async def test_include_thoughts_puts_a_signed_thought_first(caller: Caller, upstream: str) -> None:
    config = {"thinkingConfig": {"includeThoughts": True, "thinkingBudget": 128}, "maxOutputTokens": 1000}
    answer = await caller.via(upstream, {"contents": [user("hm")], "generationConfig": config})
    parts = answer.body["candidates"][0]["content"]["parts"]
    assert parts[0]["thought"] is True and parts[0]["thoughtSignature"] and parts[0]["text"]
    assert text_of(answer.body) == "Echo: hm"
    assert answer.body["usageMetadata"]["thoughtsTokenCount"] > 0


@pytest.mark.parametrize(("model", "has_id"), [(CLOUD_PRO, False), ("claude-sonnet-4-5", True)])
async def test_function_calls_have_ids_only_on_claude(caller: Caller, model: str, has_id: bool) -> None:
    answer = await caller.via(
        "cloudcode", {"contents": [user("CALL:get_weather please")], "tools": [WEATHER_TOOL]}, model
    )
    (part,) = answer.body["candidates"][0]["content"]["parts"]
    assert part["functionCall"]["name"] == "get_weather" and part["functionCall"]["args"] == {}
    assert part["thoughtSignature"]
    assert ("id" in part["functionCall"]) is has_id
    assert answer.body["candidates"][0]["finishReason"] == "STOP"


async def test_call_marker_takes_json_args_and_needs_a_declaration(caller: Caller) -> None:
    request = {"contents": [user('CALL:get_weather{"city": "Paris"} and CALL:nope')], "tools": [WEATHER_TOOL]}
    answer = await caller.via("gemini_api", request)
    calls = [p["functionCall"] for p in answer.body["candidates"][0]["content"]["parts"]]
    assert calls == [{"name": "get_weather", "args": {"city": "Paris"}}]
    undeclared = await caller.via("gemini_api", {"contents": [user("CALL:get_weather")]})
    assert text_of(undeclared.body) == "Echo: CALL:get_weather"


def follow_up(call_part: Json, result: Json, call_id: str | None = None) -> Json:
    response: Json = {"name": call_part["functionCall"]["name"], "response": result}
    if call_id is not None:
        response["id"] = call_id
    return {
        "contents": [
            user("CALL:get_weather"),
            {"role": "model", "parts": [call_part]},
            {"role": "user", "parts": [{"functionResponse": response}]},
        ],
        "tools": [WEATHER_TOOL],
    }


@pytest.mark.parametrize("upstream", UPSTREAMS)
async def test_thought_signature_must_come_back_unchanged(caller: Caller, upstream: str) -> None:
    first = await caller.via(upstream, {"contents": [user("CALL:get_weather")], "tools": [WEATHER_TOOL]})
    (part,) = first.body["candidates"][0]["content"]["parts"]

    good = await caller.via(upstream, follow_up(part, {"temp": 21}))
    assert good.status == 200, good.body
    assert text_of(good.body) == 'Echo: get_weather -> {"temp":21}'

    # A gateway-assigned id the fake never issued still matches by name and arguments.
    with_id = {**part, "functionCall": {**part["functionCall"], "id": "call_gw_1"}}
    assert (await caller.via(upstream, follow_up(with_id, {"temp": 21}))).status == 200

    stripped = {"functionCall": part["functionCall"]}
    changed = {**part, "thoughtSignature": part["thoughtSignature"] + "x"}
    for broken in (stripped, changed):
        answer = await caller.via(upstream, follow_up(broken, {"temp": 21}))
        assert answer.status == 400
        assert "missing a thought_signature" in answer.body["error"]["message"]


async def test_claude_needs_tool_results_by_id(caller: Caller) -> None:
    first = await caller.via(
        "cloudcode", {"contents": [user("CALL:get_weather")], "tools": [WEATHER_TOOL]}, "claude-sonnet-4-5"
    )
    (part,) = first.body["candidates"][0]["content"]["parts"]
    call_id = part["functionCall"]["id"]
    ok = await caller.via("cloudcode", follow_up(part, {"t": 1}, call_id), "claude-sonnet-4-5")
    assert ok.status == 200, ok.body
    for wrong_id in (None, "toolu_other"):
        answer = await caller.via("cloudcode", follow_up(part, {"t": 1}, wrong_id), "claude-sonnet-4-5")
        assert answer.status == 400
        assert "tool_use" in answer.body["error"]["message"]


async def test_scripted_replies_come_first_then_echo(fake_google: FakeGoogle, caller: Caller) -> None:
    fake_google.script(Reply(parts=[{"text": "Hel"}, {"text": "lo"}], finish_reason="MAX_TOKENS"))
    fake_google.script(Reply(parts=[{"text": "for b only"}]), who="b@example.com")
    events = await caller.stream("cloudcode", {"contents": [user("x")]})
    chunks = [e["response"] for e in events]
    assert [text_of(c) for c in chunks] == ["Hel", "lo"]
    assert chunks[-1]["candidates"][0]["finishReason"] == "MAX_TOKENS"
    # The second script waits for its account; others get the echo.
    assert text_of((await caller.via("gemini_api", {"contents": [user("y")]})).body) == "Echo: y"


async def test_scripted_function_call_gets_signed(fake_google: FakeGoogle, caller: Caller) -> None:
    fake_google.script(Reply(parts=[{"functionCall": {"name": "get_weather", "args": {"city": "Oslo"}}}]))
    answer = await caller.via("cloudcode", {"contents": [user("x")], "tools": [WEATHER_TOOL]})
    (part,) = answer.body["candidates"][0]["content"]["parts"]
    assert part["thoughtSignature"]
    unsigned = {"functionCall": part["functionCall"]}
    assert (await caller.via("cloudcode", follow_up(unsigned, {"t": 1}))).status == 400


async def test_scripted_blocked_prompt_has_no_candidates(fake_google: FakeGoogle, caller: Caller) -> None:
    fake_google.script(Reply(parts=[], finish_reason=None, prompt_feedback={"blockReason": "SAFETY"}))
    answer = await caller.via("gemini_api", {"contents": [user("x")]})
    assert answer.body["promptFeedback"] == {"blockReason": "SAFETY"}
    assert "candidates" not in answer.body


async def test_audio_and_image_answers(caller: Caller) -> None:
    tts = {"contents": [user("say hi")], "generationConfig": {"responseModalities": ["AUDIO"]}}
    audio = (await caller.via("gemini_api", tts)).body["candidates"][0]["content"]["parts"][0]["inlineData"]
    assert audio["mimeType"] == "audio/L16;codec=pcm;rate=24000" and base64.b64decode(audio["data"])
    drawing = {"contents": [user("a cat")], "generationConfig": {"responseModalities": ["TEXT", "IMAGE"]}}
    parts = (await caller.via("cloudcode", drawing)).body["candidates"][0]["content"]["parts"]
    image = next(p["inlineData"] for p in parts if "inlineData" in p)
    assert image["mimeType"] == "image/png" and base64.b64decode(image["data"]).startswith(b"\x89PNG")


async def test_count_tokens_on_both_upstreams(caller: Caller) -> None:
    contents = [user("x" * 40)]
    cloud = await caller.cloud(
        "countTokens", {"request": {"model": f"models/{CLOUD_PRO}", "contents": contents}}
    )
    assert cloud.body == {"totalTokens": 10}
    bare = await caller.api("gemini-2.5-flash", "countTokens", {"contents": contents})
    wrapped = await caller.api(
        "gemini-2.5-flash",
        "countTokens",
        {"generateContentRequest": {"model": "models/gemini-2.5-flash", "contents": contents}},
    )
    assert bare.body == wrapped.body == {"totalTokens": 10}
    broken = await caller.cloud(
        "countTokens",
        {"request": {"model": CLOUD_PRO, "contents": [{"role": "bot", "parts": [{"text": "x"}]}]}},
    )
    assert broken.status == 400


# ------------------------------------------------------------------------------------ quota and faults


@pytest.mark.parametrize("upstream", UPSTREAMS)
async def test_exhausted_quota_is_a_429_until_reset(
    fake_google: FakeGoogle, caller: Caller, upstream: str
) -> None:
    who = caller.account.email if upstream == "cloudcode" else caller.api_key
    pro, flash = (CLOUD_PRO, CLOUD_FLASH) if upstream == "cloudcode" else (API_PRO, API_FLASH)
    fake_google.set_remaining(who, pro, 0.0, reset_in_s=0.15)
    answer = await caller.via(upstream, {"contents": [user("hi")]})
    assert answer.status == 429
    assert reason_of(answer.body) == "QUOTA_EXHAUSTED"
    assert answer.body["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert (await caller.via(upstream, {"contents": [user("hi")]}, flash)).status == 200
    await asyncio.sleep(0.2)
    assert (await caller.via(upstream, {"contents": [user("hi")]})).status == 200


FAULT_ANSWERS = [
    ("rate_limit", 429, "RESOURCE_EXHAUSTED", "RATE_LIMIT_EXCEEDED"),
    ("quota", 429, "RESOURCE_EXHAUSTED", "QUOTA_EXHAUSTED"),
    ("capacity", 429, "RESOURCE_EXHAUSTED", "MODEL_CAPACITY_EXHAUSTED"),
    ("unauthenticated", 401, "UNAUTHENTICATED", None),
    ("forbidden", 403, "PERMISSION_DENIED", None),
    ("server", 500, "INTERNAL", None),
    ("unavailable", 503, "UNAVAILABLE", None),
    ("not_found", 404, "NOT_FOUND", None),
    ("bad_request", 400, "INVALID_ARGUMENT", None),
]


@pytest.mark.parametrize("upstream", UPSTREAMS)
@pytest.mark.parametrize(("kind", "status", "grpc", "reason"), FAULT_ANSWERS)
async def test_fault_kinds_answer_googles_error(
    fake_google: FakeGoogle,
    caller: Caller,
    upstream: str,
    kind: str,
    status: int,
    grpc: str,
    reason: str | None,
) -> None:
    fault = fake_google.inject(Fault(kind, method="generateContent"))
    answer = await caller.via(upstream, {"contents": [user("hi")]})
    assert answer.status == status
    error = answer.body["error"]
    assert (error["code"], error["status"]) == (status, grpc) and error["message"]
    if reason is not None:
        assert reason_of(answer.body) == reason
    assert fault.fired == 1


async def test_fault_details(fake_google: FakeGoogle, caller: Caller) -> None:
    fake_google.inject(Fault("rate_limit", delay="0.5s"))
    limited = await caller.via("cloudcode", {"contents": [user("hi")]})
    assert detail(limited.body, "RetryInfo")["retryDelay"] == "0.5s"

    fake_google.inject(Fault("quota", model=CLOUD_FLASH))
    exhausted = await caller.via("cloudcode", {"contents": [user("hi")]}, CLOUD_FLASH)
    metadata = detail(exhausted.body, "ErrorInfo")["metadata"]
    assert metadata["quotaResetDelay"] == "3h0m0s"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", metadata["quotaResetTimeStamp"])
    # ...and the model is now out for that account until the reset.
    models = (await caller.cloud("fetchAvailableModels", {"project": "proj-a"})).body["models"]
    assert "remainingFraction" not in models[CLOUD_FLASH]["quotaInfo"]
    assert (await caller.via("cloudcode", {"contents": [user("hi")]}, CLOUD_FLASH)).status == 429

    fake_google.inject(Fault("forbidden"))
    forbidden = await caller.via("cloudcode", {"contents": [user("hi")]})
    assert "verif" in forbidden.body["error"]["message"].lower()
    assert detail(forbidden.body, "ErrorInfo")["metadata"]["validation_url"].startswith("https://")


async def test_unauthenticated_fault_kills_the_access_token(fake_google: FakeGoogle, caller: Caller) -> None:
    fake_google.inject(Fault("unauthenticated"))
    assert (await caller.via("cloudcode", {"contents": [user("hi")]})).status == 401
    assert (await caller.via("cloudcode", {"contents": [user("hi")]})).status == 401  # the token is dead now
    caller.access_token = await access_token(fake_google, caller.http, caller.account.refresh_token)
    assert (await caller.via("cloudcode", {"contents": [user("hi")]})).status == 200


async def test_faults_fire_their_times_then_expire(fake_google: FakeGoogle, caller: Caller) -> None:
    fault = fake_google.inject(Fault("server", times=2))
    statuses = [(await caller.via("cloudcode", {"contents": [user("hi")]})).status for _ in range(3)]
    assert statuses == [500, 500, 200]
    assert fault.fired == 2
    forever = fake_google.inject(Fault("unavailable", times=None))
    assert [(await caller.via("cloudcode", {"contents": [user("hi")]})).status for _ in range(3)] == [503] * 3
    fake_google.clear_faults()
    assert (await caller.via("cloudcode", {"contents": [user("hi")]})).status == 200
    assert forever.fired == 3


@pytest.mark.parametrize(
    ("filters", "hit"),
    [
        ({"method": "countTokens"}, False),
        ({"method": "generateContent"}, True),
        ({"model": CLOUD_FLASH}, False),
        ({"model": CLOUD_PRO}, True),
        ({"who": "b@example.com"}, False),
        ({"who": "a@example.com"}, True),
        ({"endpoint": "daily"}, False),
        ({"endpoint": "sandbox"}, True),
    ],
)
async def test_fault_filters(
    fake_google: FakeGoogle, caller: Caller, filters: dict[str, str], hit: bool
) -> None:
    fault = fake_google.inject(Fault("server", **filters))  # type: ignore[arg-type]  # only str filters here
    answer = await caller.via("cloudcode", {"contents": [user("hi")]})
    assert answer.status == (500 if hit else 200)
    assert fault.fired == int(hit)


async def test_unfiltered_faults_leave_oauth_alone(fake_google: FakeGoogle, caller: Caller) -> None:
    fake_google.inject(Fault("server"))
    await access_token(fake_google, caller.http, caller.account.refresh_token)
    assert (await caller.via("cloudcode", {"contents": [user("hi")]})).status == 500
    fake_google.inject(Fault("server", method="token"))
    assert (await refresh(fake_google, caller.http, caller.account.refresh_token)).status == 500


async def test_endpoint_fault_lets_the_next_endpoint_answer(fake_google: FakeGoogle, caller: Caller) -> None:
    fake_google.inject(Fault("capacity", endpoint="sandbox", times=None))
    body = caller.envelope({"contents": [user("hi")]})
    assert (await caller.cloud("generateContent", body, endpoint=0)).status == 429
    assert (await caller.cloud("generateContent", body, endpoint=1)).status == 200
    assert [r.endpoint for r in fake_google.calls("generateContent")] == ["sandbox", "daily"]


@pytest.mark.parametrize("upstream", UPSTREAMS)
async def test_stream_cut_drops_the_connection(
    fake_google: FakeGoogle, caller: Caller, upstream: str
) -> None:
    fake_google.inject(Fault("stream_cut", after=2))
    with pytest.raises(aiohttp.ClientPayloadError):
        await caller.stream(upstream, {"contents": [user("one two three four")]})
    # A stream fault leaves non-streaming calls alone, and is gone after firing.
    assert (await caller.via(upstream, {"contents": [user("x")]})).status == 200
    assert len(await caller.stream(upstream, {"contents": [user("one two")]})) == 3


async def test_stream_cut_sends_the_chunks_before_the_cut(fake_google: FakeGoogle, caller: Caller) -> None:
    fake_google.inject(Fault("stream_cut", after=2))
    url = f"{fake_google.endpoints[0]}/v1internal:streamGenerateContent?alt=sse"
    received = b""
    async with caller.http.post(
        url, json=caller.envelope({"contents": [user("a b c d")]}), headers=caller.headers
    ) as r:
        with pytest.raises(aiohttp.ClientPayloadError):
            async for data in r.content.iter_any():
                received += data
    assert received.count(b"data: ") == 2
    assert b"finishReason" not in received


async def test_stream_error_event(fake_google: FakeGoogle, caller: Caller) -> None:
    fake_google.inject(Fault("stream_error", after=1, status=503))
    events = await caller.stream("cloudcode", {"contents": [user("a b c")]})
    assert len(events) == 2 and "response" in events[0]
    assert events[1]["error"]["status"] == "UNAVAILABLE"


async def test_slow_streams(fake_google: FakeGoogle, caller: Caller) -> None:
    fake_google.inject(Fault("slow", delay=0.05))
    started = time.monotonic()
    events = await caller.stream("cloudcode", {"contents": [user("a b c")]})
    assert len(events) == 4 and time.monotonic() - started >= 0.2
    fake_google.chunk_delay = 0.03
    started = time.monotonic()
    await caller.stream("gemini_api", {"contents": [user("a b c")]})
    assert time.monotonic() - started >= 0.12


async def test_client_hanging_up_is_noticed(fake_google: FakeGoogle, caller: Caller) -> None:
    fake_google.chunk_delay = 0.05
    url = f"{fake_google.endpoints[0]}/v1internal:streamGenerateContent?alt=sse"
    async with caller.http.post(
        url, json=caller.envelope({"contents": [user("a b c d e f")]}), headers=caller.headers
    ) as r:
        await r.content.readline()
        r.close()
    for _ in range(50):
        if fake_google.streams_cancelled:
            break
        await asyncio.sleep(0.01)
    assert fake_google.streams_cancelled == 1


# ------------------------------------------------------------------------------------------ Gemini API


async def test_api_key_rules(fake_google: FakeGoogle, caller: Caller) -> None:
    url = f"{fake_google.base_url}/v1beta/models/gemini-2.5-pro:generateContent"
    body = {"contents": [user("hi")]}
    async with caller.http.post(url, json=body, params={"key": caller.api_key}) as response:
        assert response.status == 400  # the key in the URL ends up in logs
    async with caller.http.post(url, json=body) as response:
        assert response.status == 403
    async with caller.http.post(url, json=body, headers={"x-goog-api-key": "AIzaNotAKey"}) as response:
        assert response.status == 400
        assert reason_of(await response.json()) == "API_KEY_INVALID"
    fake_google.revoke(caller.api_key)
    assert (await caller.api("gemini-2.5-pro", "generateContent", body)).status == 400


async def test_api_unknown_model_and_method(caller: Caller) -> None:
    assert (
        await caller.api("gemini-3-pro-preview", "generateContent", {"contents": [user("hi")]})
    ).status == 404
    assert (await caller.api("gemini-2.5-pro", "doSomething", {})).status == 404


async def test_api_lists_models_in_pages(fake_google: FakeGoogle, http: aiohttp.ClientSession) -> None:
    key = fake_google.add_api_key(
        {"gemini-2.5-pro": 1.0, "gemini-2.5-flash": 1.0, "gemini-embedding-001": 1.0}
    )
    names: list[str] = []
    query: dict[str, str] = {"pageSize": "2"}
    for _ in range(3):
        async with http.get(
            f"{fake_google.base_url}/v1beta/models", params=query, headers={"x-goog-api-key": key}
        ) as r:
            page = await r.json()
        for model in page["models"]:
            assert {
                "name",
                "displayName",
                "supportedGenerationMethods",
                "inputTokenLimit",
                "outputTokenLimit",
            } <= set(model)
        names += [m["name"] for m in page["models"]]
        if "nextPageToken" not in page:
            break
        query["pageToken"] = page["nextPageToken"]
    assert names == ["models/gemini-2.5-pro", "models/gemini-2.5-flash", "models/gemini-embedding-001"]
    async with http.get(
        f"{fake_google.base_url}/v1beta/models/gemini-2.5-pro", headers={"x-goog-api-key": key}
    ) as r:
        assert "generateContent" in (await r.json())["supportedGenerationMethods"]


async def test_api_embeddings_and_images(fake_google: FakeGoogle, caller: Caller) -> None:
    caller.api_key = fake_google.add_api_key(["gemini-embedding-001", "imagen-4.0-generate-001"])

    def request(text: str) -> Json:
        return {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": text}]}}

    batch = await caller.api(
        "gemini-embedding-001", "batchEmbedContents", {"requests": [request("a"), request("b"), request("a")]}
    )
    vectors = [e["values"] for e in batch.body["embeddings"]]
    assert len(vectors) == 3 and vectors[0] == vectors[2] != vectors[1]
    single = await caller.api("gemini-embedding-001", "embedContent", {"content": {"parts": [{"text": "a"}]}})
    assert single.body["embedding"]["values"] == vectors[0]
    wrong = {"requests": [{"model": "models/other", "content": {"parts": [{"text": "a"}]}}]}
    assert (await caller.api("gemini-embedding-001", "batchEmbedContents", wrong)).status == 400
    images = await caller.api(
        "imagen-4.0-generate-001",
        "predict",
        {"instances": [{"prompt": "a cat"}], "parameters": {"sampleCount": 2}},
    )
    assert [p["mimeType"] for p in images.body["predictions"]] == ["image/png"] * 2
    too_many = {"instances": [{"prompt": "a cat"}], "parameters": {"sampleCount": 5}}
    assert (await caller.api("imagen-4.0-generate-001", "predict", too_many)).status == 400


# ------------------------------------------------------------------------------------------- recording


async def test_requests_are_recorded(fake_google: FakeGoogle, caller: Caller) -> None:
    await caller.via("cloudcode", {"contents": [user("hi")]})
    await caller.via("gemini_api", {"contents": [user("yo")]})
    (token,) = fake_google.calls("token")
    assert token.service == "oauth" and token.who == "a@example.com"
    (cloud, api) = fake_google.calls("generateContent")
    assert (cloud.service, cloud.endpoint, cloud.model, cloud.who) == (
        "cloudcode",
        "sandbox",
        CLOUD_PRO,
        "a@example.com",
    )
    assert cloud.body["request"]["contents"][0]["parts"][0]["text"] == "hi"
    assert cloud.headers["User-Agent"] == UA["User-Agent"]
    assert (api.service, api.model, api.who) == ("gemini_api", "gemini-2.5-pro", caller.api_key)
    assert len(fake_google.requests) == 3


async def test_recording_can_be_off(http: aiohttp.ClientSession) -> None:
    async with FakeGoogle(record=False) as fake:
        account = fake.add_google_account("a@example.com")
        await access_token(fake, http, account.refresh_token)
        assert fake.requests == [] and fake.calls("token") == []


@pytest.mark.parametrize(
    ("parameters", "model", "refused_on_cloud_code"),
    [
        ({"type": "object", "properties": {"q": {"type": "string", "minLength": 3}}}, CLOUD_PRO, True),
        ({"type": "object", "properties": {"n": {"type": "integer", "maximum": 9}}}, CLOUD_PRO, True),
        ({"type": "object", "properties": {"u": {"type": "string", "format": "uri"}}}, CLOUD_PRO, True),
        ({"type": "object"}, "claude-sonnet-4-5", True),  # Claude under VALIDATED: no empty object
        ({"type": "object"}, CLOUD_PRO, False),
        (
            {"type": "object", "properties": {"q": {"type": "string", "description": "q (minLength: 3)"}}},
            CLOUD_PRO,
            False,
        ),
    ],
)
async def test_cloud_code_refuses_constrained_and_empty_tool_schemas(
    caller: Caller, parameters: Json, model: str, refused_on_cloud_code: bool
) -> None:
    request = {
        "contents": [user("hi")],
        "tools": [{"functionDeclarations": [{"name": "f", "parameters": parameters}]}],
    }
    answer = await caller.via("cloudcode", request, model)
    assert answer.status == (400 if refused_on_cloud_code else 200), answer.body
    assert (await caller.via("gemini_api", request)).status == 200  # the Gemini API takes them
