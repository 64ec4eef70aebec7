"""The gateway: one Gemini-format request in, served by a healthy account with failover, answer out."""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from core.accounts import AccountService
from core.config import Settings
from core.credentials import Credentials
from core.errors import ApiError, ApiErrorType, ErrorKind, UpstreamError, api_error_from_upstream
from core.models import apply_model_suffixes, capabilities_of, model_aliases, resolve_model
from core.pool import AccountPool, NoAccount, Step
from core.stale_client import could_still_say_stale, reply_text, says_stale, stale_client_error
from core.transform import (
    NameMap,
    SignatureCache,
    drop_foreign_thoughts,
    fill_missing_signatures,
    needs_object_placeholder,
    needs_signed_calls,
    prepare_request,
    restore_response,
    signature_family,
)
from core.types import JSON, Account, AccountKind, LogEntry
from core.upstream import Upstream, Upstreams
from core.upstream_http import UpstreamHTTPError

CHARS_PER_TOKEN = 4  # the local token estimate when the upstream cannot count


@dataclass
class GatewayRequest:
    client_model: str  # as the client sent it; mapped to an upstream model by core.models
    body: JSON  # Gemini GenerateContentRequest
    conversation_key: str | None = None
    log: LogEntry | None = None  # the gateway fills upstream_model, account, tokens


@dataclass(frozen=True)
class ModelInfo:
    id: str  # upstream model id, or an alias from the model mapping
    owned_by: str  # "google" / "anthropic" / ...
    display_name: str = ""
    aliases_for: str | None = None  # set on aliases: the upstream model they map to
    accounts: int = 0  # how many enabled accounts offer it
    capabilities: tuple[str, ...] = field(default=("chat",))


@dataclass
class _Failover:
    """One client request's walk through the accounts."""

    model: str
    conversation_key: str | None
    deadline: float
    attempts_left: int
    log: LogEntry | None
    exclude: set[str] = field(default_factory=set)
    reauthenticated: set[str] = field(default_factory=set)  # accounts that had their one retry after a 401
    retry_account: Account | None = None  # set after a 401: the next attempt goes to this account
    tried: list[str] = field(default_factory=list)  # "a@x: rate limited (429)", for the final message
    last_error: UpstreamError | None = None


@dataclass
class _Prepared:
    model: str
    conversation_key: str | None
    body: JSON
    names: NameMap

    @property
    def family(self) -> str:
        """Whose thought signatures the serving model reads and writes (core.transform.signature_family)."""
        return signature_family(self.model)


class Gateway:
    """Raises core.errors.ApiError for everything the client should see (no account, upstream refusal).

    Each request: resolve the model, prepare the body once, then per attempt pick an account, get its
    credential and call its upstream; a failure goes to the pool, which says whether to rotate, retry the
    same account, wait for capacity, or give up. Attempts are bounded by `upstream.max_attempts` and by
    `upstream.retry_budget_s` of failing over (the time of a call that succeeds does not count).
    """

    def __init__(
        self,
        settings: Settings,
        accounts: AccountService,
        pool: AccountPool,
        credentials: Credentials,
        upstreams: Upstreams,
        signatures: SignatureCache,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._accounts = accounts
        self._pool = pool
        self._credentials = credentials
        self._upstreams = upstreams
        self._signatures = signatures
        self._clock = clock
        self._accounts_version = 0
        self._offered_cache: tuple[int, dict[str, list[Account]]] | None = None
        self._forwards_cache: tuple[int, dict[str, str]] | None = None
        self._models_cache: tuple[int, dict[str, str], list[ModelInfo]] | None = None
        self._stale_listeners: list[Callable[[str], None]] = []
        self.stale_client_agent: str | None = None  # set when Google called our client identity outdated
        accounts.add_listener(self._on_accounts_changed)

    # -- public API -------------------------------------------------------------------------------------

    async def generate(self, request: GatewayRequest) -> JSON:
        prepared = self._prepare(request)

        async def call(account: Account, credential: str) -> JSON:
            return await self._upstream(account).generate(
                account, credential, prepared.model, prepared.body, session_id=prepared.conversation_key
            )

        account, response = await self._with_failover(prepared, request.log, call)
        identity = self._upstream(account).client_identity
        if identity is not None and says_stale(reply_text(response) or ""):
            raise self._stale_client(identity)
        restored = restore_response(
            response, prepared.names, self._signatures, prepared.conversation_key, family=prepared.family
        )
        if request.log is not None:
            _record_usage(request.log, restored.get("usageMetadata"))
        await self._accounts.touch(account.id)
        return restored

    async def stream(self, request: GatewayRequest) -> AsyncIterator[JSON]:
        """Failover happens only before the first chunk is yielded; later failures raise ApiError.

        Closing this generator (client gone) closes the upstream response at once.
        """
        prepared = self._prepare(request)

        async def open_stream(account: Account, credential: str) -> tuple[AsyncIterator[JSON], list[JSON]]:
            serving = self._upstream(account)
            upstream = serving.stream(
                account, credential, prepared.model, prepared.body, session_id=prepared.conversation_key
            )
            try:
                first = await anext(upstream)
                head = [first]
                if (identity := serving.client_identity) is not None:
                    await self._read_past_stale_client(upstream, head, identity)
            except StopAsyncIteration:
                raise UpstreamError(
                    ErrorKind.NETWORK, 0, "The upstream closed the stream without an answer"
                ) from None
            except BaseException:
                await _close(upstream)
                raise
            return upstream, head

        account, (upstream, head) = await self._with_failover(prepared, request.log, open_stream)
        await self._accounts.touch(account.id)
        log = request.log
        names, signatures, key = prepared.names, self._signatures, prepared.conversation_key
        family = prepared.family

        def restored(raw: JSON) -> JSON:  # the hot path: nothing per chunk beyond these two steps
            chunk = restore_response(raw, names, signatures, key, family=family)
            if log is not None and "usageMetadata" in chunk:
                _record_usage(log, chunk["usageMetadata"])
            return chunk

        try:
            for held in head:
                yield restored(held)
            async for raw in upstream:
                yield restored(raw)
        except UpstreamError as error:
            # Too late to fail over (the client has part of the answer), but the pool still learns from it.
            await self._pool.report_failure(account, prepared.model, error)
            api_error = api_error_from_upstream(error)
            api_error.message = f"The answer from {account.name} broke off mid-stream: {api_error.message}"
            raise api_error from error
        finally:
            await _close(upstream)

    async def _read_past_stale_client(
        self, upstream: AsyncIterator[JSON], head: list[JSON], identity: str
    ) -> None:
        """Reads on while the streamed text may still turn into the stale-client message; raises when it does.

        A normal answer is held back only while its first words match that message (one chunk, usually)."""
        text = reply_text(head[-1])
        while text is not None and could_still_say_stale(text):
            try:
                head.append(await anext(upstream))
            except StopAsyncIteration:
                break
            more = reply_text(head[-1])
            text = None if more is None else text + more
        if text is not None and says_stale(text):
            raise self._stale_client(identity)

    def _upstream(self, account: Account) -> Upstream:
        return self._upstreams[account.kind]

    def _stale_client(self, user_agent: str) -> ApiError:
        """The stale-client refusal, remembered (once per user agent) for the desktop app to show."""
        self.stale_client_agent = user_agent
        for listener in list(self._stale_listeners):
            listener(user_agent)
        return stale_client_error(user_agent)

    def add_stale_client_listener(self, listener: Callable[[str], None]) -> None:
        """`listener(user_agent)` is called when Google says the client identity is outdated (show it once)."""
        self._stale_listeners.append(listener)

    async def count_tokens(self, request: GatewayRequest) -> int:
        """The upstream's count when an account can give one; otherwise a local estimate (characters / 4).

        Counting is advisory for every client protocol (they use it to budget context), so a failure —
        no account, quota, a refusal — must not fail the client's request; the estimate is close enough.
        """
        prepared = self._prepare(request)

        async def call(account: Account, credential: str) -> int:
            return await self._upstream(account).count_tokens(
                account, credential, prepared.model, prepared.body
            )

        try:
            _, total = await self._with_failover(prepared, request.log, call)
        except ApiError:
            return estimate_tokens(request.body)
        return total

    async def call_with_failover[T](
        self,
        client_model: str,
        call: Callable[[Account, str, str], Awaitable[T]],
        *,
        log: LogEntry | None = None,
        kinds: Collection[AccountKind] | None = None,
        conversation_key: str | None = None,
        purpose: str = "This request",
    ) -> T:
        """Any upstream call (embeddings, Imagen, TTS, ...) with the same failover as generate.

        `call(account, credential, upstream_model)` does the work; a classified UpstreamError from it makes
        the pool rotate, retry or give up exactly as for chat. `kinds` limits the accounts tried (e.g. API
        keys only); when none of those kinds is usable the ApiError says which kind of account is needed,
        starting with `purpose` ("Embeddings").
        """
        model = self.resolve_model(client_model)
        if log is not None:
            log.upstream_model = model
        exclude = self._excluded_kinds(model, kinds, purpose) if kinds is not None else set()
        prepared = _Prepared(model, conversation_key, {}, NameMap())

        async def bound(account: Account, credential: str) -> T:
            return await call(account, credential, model)

        account, result = await self._with_failover(prepared, log, bound, exclude=exclude)
        await self._accounts.touch(account.id)
        return result

    def resolve_model(self, client_model: str, *, wants_thinking: bool = False) -> str:
        """The upstream model a client's model name is served by: user rules, then what the enabled accounts
        offer now (as named, forwarded from a retired id, or the best of the name's family; core.models)."""
        return resolve_model(
            client_model,
            self._settings.models,
            self._offered(),
            wants_thinking=wants_thinking,
            forwards=self._forwards(),
        )

    def offered_models(self, kind: AccountKind | None = None) -> list[str]:
        """Models offered by enabled accounts (of one kind, when given), sorted."""
        return sorted(
            model
            for model, accounts in self._offered().items()
            if kind is None or any(account.kind is kind for account in accounts)
        )

    def models(self) -> list[ModelInfo]:
        """Models offered by enabled accounts (with how many offer each), then aliases whose target is offered."""
        rules = self._settings.models
        cached = self._models_cache
        if cached is not None and cached[0] == self._accounts_version and cached[1] == rules:
            return list(cached[2])
        offered = self._offered()
        infos = [_model_info(model, accounts) for model, accounts in sorted(offered.items())]
        for alias, target in sorted(model_aliases(rules, offered).items()):
            if alias not in offered and target in offered:
                display = offered[target][0].quotas[target].display_name
                infos.append(
                    ModelInfo(
                        id=alias,
                        owned_by=_owner(target),
                        display_name=display,
                        aliases_for=target,
                        accounts=len(offered[target]),
                        capabilities=_capabilities(target, offered[target]),
                    )
                )
        self._models_cache = (self._accounts_version, dict(rules), infos)
        return list(infos)

    # -- failover ---------------------------------------------------------------------------------------

    def _prepare(self, request: GatewayRequest) -> _Prepared:
        client_model, client_body = request.client_model, request.body
        if not self._names_a_model(client_model):
            # `…-search`, `…-image-16x9`, `…-4k`: settings carried in the model name (core.media).
            client_model, client_body = apply_model_suffixes(client_model, client_body)
        generation_config = client_body.get("generationConfig")
        wants_thinking = isinstance(generation_config, dict) and "thinkingConfig" in generation_config
        model = self.resolve_model(client_model, wants_thinking=wants_thinking)
        if request.log is not None:
            request.log.upstream_model = model
        # A client-given key (OpenAI `user`, Claude `metadata.user_id`) is hashed: it becomes the upstream
        # sessionId, and a user's own identifier has no business leaving the machine.
        explicit = request.conversation_key
        key = _hashed_key("user", explicit) if explicit else conversation_key_of(client_body)
        body, names = prepare_request(
            client_body, self._signatures, key, object_placeholder=needs_object_placeholder(model)
        )
        # A conversation that moved between Claude and Gemini carries the other family's thoughts: drop them.
        body = drop_foreign_thoughts(body, signature_family(model), self._signatures)
        if needs_signed_calls(model):
            body = fill_missing_signatures(body)
        return _Prepared(model, key, body, names)

    def _names_a_model(self, client_model: str) -> bool:
        """True when the name is served or mapped as it stands, so no suffix of it means a setting."""
        name = client_model.strip().removeprefix("models/")
        if name in self._offered():
            return True
        rules = {pattern.strip().removeprefix("models/").lower() for pattern in self._settings.models}
        return name.lower() in rules

    def _excluded_kinds(self, model: str, kinds: Collection[AccountKind], purpose: str) -> set[str]:
        """Ids of the accounts of other kinds; a clear error when no account of the wanted kinds can serve."""
        wanted = [a for a in self._accounts.accounts() if a.kind in kinds]
        needed = " or ".join(_KIND_NAMES[kind] for kind in kinds)
        usable = [a for a in wanted if a.enabled]
        if not usable:
            raise ApiError(
                503,
                ApiErrorType.OVERLOADED,
                f"{purpose} needs a {needed} account, and none is set up (Google sign-in accounts cannot "
                "serve it): add one in the Accounts window or with `gravity-desk accounts add --api-key -` "
                "(asks for the key).",
            )
        if not any(not a.quotas or model in a.quotas for a in usable):
            offered = sorted({m for a in usable for m in a.quotas})
            raise ApiError(
                404,
                ApiErrorType.NOT_FOUND,
                f"Model {model} is not offered by any {needed} account; they offer: "
                f"{', '.join(offered) or 'nothing'}.",
            )
        return {a.id for a in self._accounts.accounts() if a.kind not in kinds}

    async def _with_failover[T](
        self,
        prepared: _Prepared,
        log: LogEntry | None,
        call: Callable[[Account, str], Awaitable[T]],
        *,
        exclude: set[str] | None = None,
    ) -> tuple[Account, T]:
        upstream = self._settings.upstream
        state = _Failover(
            model=prepared.model,
            conversation_key=prepared.conversation_key,
            deadline=self._clock() + upstream.retry_budget_s,
            attempts_left=max(1, upstream.max_attempts),
            log=log,
            exclude=set(exclude or ()),
        )
        while True:
            account = self._next_account(state)
            if log is not None:
                log.account, log.account_id = account.name, account.id
            # The upstream said the model is busy (for this request or another): wait, within the budget.
            wait = min(self._pool.capacity_wait(state.model), state.deadline - self._clock())
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                credential = await self._credentials.credential(account)
                result = await call(account, credential)
            except UpstreamError as error:
                await self._after_failure(state, account, error)
                continue
            except (
                aiohttp.ClientError,
                UpstreamHTTPError,
                TimeoutError,
            ) as exc:  # one let through unclassified
                network = UpstreamError(ErrorKind.NETWORK, 0, f"{type(exc).__name__} talking to the upstream")
                await self._after_failure(state, account, network)
                continue
            self._pool.report_success(account, state.model)
            return account, result

    def _next_account(self, state: _Failover) -> Account:
        if state.retry_account is not None:
            account, state.retry_account = state.retry_account, None
            return account
        try:
            return self._pool.pick(
                state.model, conversation_key=state.conversation_key, exclude=state.exclude
            )
        except NoAccount as no_account:
            if state.last_error is None:
                raise
            raise self._final_error(state, no_account) from None

    async def _after_failure(self, state: _Failover, account: Account, error: UpstreamError) -> None:
        """Apply the pool's verdict; raises the error for the client when the request should stop."""
        action = await self._pool.report_failure(
            account, state.model, error, retried_same=account.id in state.reauthenticated
        )
        state.last_error = error
        state.tried.append(f"{account.name}: {_describe(error)}")
        if action.step is Step.GIVE_UP:
            raise api_error_from_upstream(error) from error
        if action.step is Step.RETRY_SAME:
            # A fresh token for the same account is not a new attempt: it is bounded by once per account.
            self._credentials.invalidate(account.id)
            state.reauthenticated.add(account.id)
            state.retry_account = account
            return
        if action.step is Step.ROTATE:
            state.exclude.add(account.id)
        state.attempts_left -= 1
        if state.attempts_left <= 0 or self._clock() >= state.deadline:
            raise self._final_error(state, None) from error

    def _final_error(self, state: _Failover, no_account: NoAccount | None) -> ApiError:
        """The client's error after failing over: the pool's 429 (it knows when to come back), else the last
        upstream failure — either way naming the accounts tried and why."""
        if no_account is not None and (no_account.status == 429 or state.last_error is None):
            base: ApiError = no_account
        elif state.last_error is not None:
            base = api_error_from_upstream(state.last_error)
        else:  # pragma: no cover - _final_error is only called after a failure
            raise RuntimeError("no failure to report")
        message = f"{base.message} Tried: {_summarise(state.tried)}." if state.tried else base.message
        return ApiError(base.status, base.type, message, retry_after=base.retry_after, param=base.param)

    # -- account catalogue ------------------------------------------------------------------------------

    def _on_accounts_changed(self, _account_id: str) -> None:
        self._accounts_version += 1

    def _offered(self) -> dict[str, list[Account]]:
        """Model id -> the enabled accounts whose catalogue lists it; cached until an account changes."""
        cached = self._offered_cache
        if cached is not None and cached[0] == self._accounts_version:
            return cached[1]
        offered: dict[str, list[Account]] = {}
        for account in self._accounts.accounts():
            if account.enabled:
                for model in account.quotas:
                    offered.setdefault(model, []).append(account)
        self._offered_cache = (self._accounts_version, offered)
        return offered

    def _forwards(self) -> dict[str, str]:
        """Retired model id -> its replacement, as the enabled accounts' catalogues say; cached like _offered."""
        cached = self._forwards_cache
        if cached is not None and cached[0] == self._accounts_version:
            return cached[1]
        forwards: dict[str, str] = {}
        for account in self._accounts.accounts():
            if account.enabled:
                forwards.update(account.model_forwards)
        self._forwards_cache = (self._accounts_version, forwards)
        return forwards


def conversation_key_of(body: JSON) -> str | None:
    """A stable key for a conversation: a hash of its system instruction and first user turn.

    The turns that follow keep both, so every request of one conversation gets the same key (for account
    stickiness, the thought-signature cache and the upstream's sessionId). None when there is no text.
    """
    system = _text_of(body.get("systemInstruction"))
    first_user = ""
    for content in body.get("contents") or ():
        if isinstance(content, dict) and content.get("role", "user") == "user":
            first_user = _text_of(content)
            break
    if not system and not first_user:
        return None
    return _hashed_key("conv", f"{system}\x00{first_user}")


def _hashed_key(prefix: str, value: str) -> str:
    return f"{prefix}-{hashlib.sha256(value.encode()).hexdigest()[:32]}"


def estimate_tokens(body: JSON) -> int:
    """About one token per four characters of everything the model reads (text, tool calls, declarations)."""
    characters = len(_text_of(body.get("systemInstruction")))
    for content in body.get("contents") or ():
        if not isinstance(content, dict):
            continue
        for part in content.get("parts") or ():
            if not isinstance(part, dict):
                continue
            if isinstance(text := part.get("text"), str):
                characters += len(text)
            for key in ("functionCall", "functionResponse"):
                if key in part:
                    characters += len(json.dumps(part[key], ensure_ascii=False))
    if tools := body.get("tools"):
        characters += len(json.dumps(tools, ensure_ascii=False))
    return max(1, math.ceil(characters / CHARS_PER_TOKEN))


def _text_of(content: Any) -> str:
    if not isinstance(content, dict):
        return ""
    return "\n".join(
        part["text"]
        for part in content.get("parts") or ()
        if isinstance(part, dict) and isinstance(part.get("text"), str)
    )


def _record_usage(log: LogEntry, usage: Any) -> None:
    if not isinstance(usage, dict):
        return
    log.tokens_in = int(usage.get("promptTokenCount") or 0)
    log.tokens_out = int(usage.get("candidatesTokenCount") or 0) + int(usage.get("thoughtsTokenCount") or 0)


async def _close(iterator: AsyncIterator[JSON]) -> None:
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()


def _describe(error: UpstreamError) -> str:
    what = {
        ErrorKind.RATE_LIMITED: "rate limited",
        ErrorKind.QUOTA_EXHAUSTED: "out of quota",
        ErrorKind.CAPACITY: "upstream busy",
        ErrorKind.UNAUTHENTICATED: "access token refused",
        ErrorKind.NEEDS_SIGNIN: "needs to sign in again",
        ErrorKind.FORBIDDEN: "not allowed",
        ErrorKind.INVALID_REQUEST: "request refused",
        ErrorKind.NOT_FOUND: "not found",
        ErrorKind.SERVER: "server error",
        ErrorKind.NETWORK: "network error",
        ErrorKind.CLIENT_CONFIG: "OAuth client refused",
    }[error.kind]
    return f"{what} ({error.status})" if error.status else what


def _summarise(tried: list[str]) -> str:
    """ "a: busy; a: busy; b: x" -> "a: busy (2 times); b: x" (capacity retries can repeat an entry often)."""
    runs: list[list[Any]] = []
    for entry in tried:
        if runs and runs[-1][0] == entry:
            runs[-1][1] += 1
        else:
            runs.append([entry, 1])
    return "; ".join(entry if count == 1 else f"{entry} ({count} times)" for entry, count in runs)


def _owner(model: str) -> str:
    if model.startswith("claude"):
        return "anthropic"
    if model.startswith(("gpt", "o1", "o3", "o4")):
        return "openai"
    return "google"


_KIND_NAMES = {AccountKind.API_KEY: "Gemini API key", AccountKind.GOOGLE: "Google sign-in"}


def _capabilities(model: str, accounts: list[Account]) -> tuple[str, ...]:
    """What the model does (core.models.capabilities_of: "chat", "embeddings", "images", "speech"), plus
    "thinking" and "vision" for chat models from the catalogue."""
    capabilities = list(capabilities_of(model))
    if "chat" not in capabilities:
        return tuple(capabilities)
    quotas = [account.quotas[model] for account in accounts]
    if "thinking" in model or any(quota.supports_thinking for quota in quotas):
        capabilities.append("thinking")
    if any(quota.supports_images for quota in quotas):
        capabilities.append("vision")
    return tuple(capabilities)


def _model_info(model: str, accounts: list[Account]) -> ModelInfo:
    display = next((a.quotas[model].display_name for a in accounts if a.quotas[model].display_name), "")
    return ModelInfo(
        id=model,
        owned_by=_owner(model),
        display_name=display,
        accounts=len(accounts),
        capabilities=_capabilities(model, accounts),
    )
