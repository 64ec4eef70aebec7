"""AccountService against the fake Google, with the real OAuth, Cloud Code and Gemini API clients."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from yarl import URL

from core.accounts import TOUCH_PERSIST_S, AccountService, ImportFileError
from core.cloudcode import CloudCodeClient
from core.config import Settings
from core.credentials import Credentials
from core.errors import ErrorKind, UpstreamError
from core.gemini_api import GeminiApiClient
from core.oauth import OAuthClient, new_pkce, new_state
from core.secrets import SecretStore
from core.store import Database
from core.types import Account, AccountKind, AccountStatus, ModelQuota
from core.upstream_http import UpstreamHTTP
from tests.fake_google import _TIER_NAMES, FakeGoogle, Fault


@dataclass
class Stack:
    """One AccountService wired like the app wires it, over files in a home folder."""

    service: AccountService
    db: Database
    secrets: SecretStore
    credentials: Credentials
    oauth: OAuthClient
    changes: list[str] = field(default_factory=list)

    async def close(self) -> None:
        await self.service.close()
        await asyncio.to_thread(self.db.close)


@pytest.fixture
async def build(
    settings: Settings, http: aiohttp.ClientSession, upstream_http: UpstreamHTTP
) -> AsyncIterator[Callable[..., Awaitable[Stack]]]:
    stacks: list[Stack] = []

    async def make(touch_persist_s: float = TOUCH_PERSIST_S) -> Stack:
        db = await asyncio.to_thread(Database, settings.database_path)
        secrets = SecretStore(settings.home, use_keyring=False)
        oauth = OAuthClient(http, settings.oauth)
        cloudcode = CloudCodeClient(upstream_http, settings.upstream, onboard_poll_s=0.01)
        gemini_api = GeminiApiClient(upstream_http, settings.gemini_api, settings.upstream)
        credentials = Credentials(secrets, oauth)
        service = AccountService(
            db, secrets, credentials, oauth, cloudcode, gemini_api, touch_persist_s=touch_persist_s
        )
        await service.load()
        stack = Stack(service, db, secrets, credentials, oauth)
        service.add_listener(stack.changes.append)
        stacks.append(stack)
        return stack

    yield make
    for stack in stacks:
        if not stack.db._closed:
            await stack.close()


@pytest.fixture
async def stack(build: Callable[..., Awaitable[Stack]]) -> Stack:
    return await build()


def status_of(account: Account) -> AccountStatus:
    """The account's status now (mypy keeps an asserted `account.status` narrowed across the calls that change
    it; this reads it afresh)."""
    return account.status


def token_calls(fake: FakeGoogle, refresh_token: str) -> int:
    return sum(1 for call in fake.calls("token") if call.body.get("refresh_token") == refresh_token)


async def test_add_google_stores_metadata_and_secret(fake_google: FakeGoogle, stack: Stack) -> None:
    fake_account = fake_google.add_google_account(
        "alice@example.com",
        project_id="proj-alice",
        models={"gemini-3.1-pro-high": 1.0, "gemini-3-flash": 0.4},
    )
    account = await stack.service.add_google(fake_account.refresh_token)
    assert re.fullmatch(r"[0-9a-f]{12}", account.id)
    assert account.kind is AccountKind.GOOGLE
    assert account.email == "alice@example.com"
    assert account.project_id == "proj-alice"
    assert account.tier == _TIER_NAMES["standard-tier"]
    assert set(account.quotas) == {"gemini-3.1-pro-high", "gemini-3-flash"}
    assert account.quotas["gemini-3-flash"].remaining_fraction == pytest.approx(0.4)
    assert account.quota_updated_at is not None
    assert account.status is AccountStatus.OK
    assert stack.service.accounts() == [account]
    assert stack.changes == [account.id]
    assert await asyncio.to_thread(stack.secrets.get, account.id) == fake_account.refresh_token
    assert [a.email for a in await asyncio.to_thread(stack.db.list_accounts)] == ["alice@example.com"]
    # The token obtained while adding is kept: the first request needs no second refresh.
    before = token_calls(fake_google, fake_account.refresh_token)
    assert (await stack.credentials.access_token(account)).startswith("ya29.")
    assert token_calls(fake_google, fake_account.refresh_token) == before


async def test_add_google_onboards_an_account_without_a_project(
    fake_google: FakeGoogle, stack: Stack
) -> None:
    fake_account = fake_google.add_google_account("new@example.com", project_id=None)
    account = await stack.service.add_google(fake_account.refresh_token)
    assert len(fake_google.calls("onboardUser")) >= 2  # polled until done
    assert account.project_id
    assert account.project_id == fake_google.accounts["new@example.com"].project_id
    assert account.quotas  # fetchAvailableModels accepted the onboarded project


async def test_revoked_token_raises_and_stores_nothing(
    fake_google: FakeGoogle, stack: Stack, settings: Settings
) -> None:
    fake_account = fake_google.add_google_account("gone@example.com")
    fake_google.revoke(fake_account.refresh_token)
    with pytest.raises(UpstreamError) as caught:
        await stack.service.add_google(fake_account.refresh_token)
    assert caught.value.kind is ErrorKind.NEEDS_SIGNIN
    assert fake_account.refresh_token not in str(caught.value)
    assert stack.service.accounts() == []
    assert stack.changes == []
    assert await asyncio.to_thread(stack.db.list_accounts) == []
    assert not (settings.home / "secrets.json").exists()


async def test_same_email_updates_in_place(fake_google: FakeGoogle, stack: Stack) -> None:
    first = fake_google.add_google_account("Bob@Example.com", project_id="proj-bob")
    account = await stack.service.add_google(first.refresh_token)
    await stack.service.set_status(account.id, AccountStatus.NEEDS_SIGNIN, "token revoked")
    # A new sign-in of the same person (the e-mail differs only in case) replaces the token.
    second = fake_google.add_google_account("bob@example.com", project_id="proj-bob-2")
    again = await stack.service.add_google(second.refresh_token)
    assert again.id == account.id
    assert len(stack.service.accounts()) == 1
    assert again.project_id == "proj-bob-2"
    assert again.status is AccountStatus.OK and again.status_reason == ""
    assert await asyncio.to_thread(stack.secrets.get, account.id) == second.refresh_token
    [stored] = await asyncio.to_thread(stack.db.list_accounts)
    assert (stored.id, stored.project_id, stored.status) == (account.id, "proj-bob-2", AccountStatus.OK)


async def test_concurrent_adds_of_one_account_make_one(fake_google: FakeGoogle, stack: Stack) -> None:
    fake_account = fake_google.add_google_account("twice@example.com")
    results = await asyncio.gather(*(stack.service.add_google(fake_account.refresh_token) for _ in range(3)))
    assert len({account.id for account in results}) == 1
    assert len(stack.service.accounts()) == 1


async def test_add_google_from_browser_code(
    fake_google: FakeGoogle, stack: Stack, http: aiohttp.ClientSession
) -> None:
    fake_google.consent_email = "carol@example.com"
    pkce = new_pkce()
    redirect_uri = "http://127.0.0.1:9/oauth-callback"
    url = stack.oauth.authorization_url(redirect_uri, new_state(), pkce)
    async with http.get(url, allow_redirects=False) as response:
        assert response.status == 302
        code = URL(response.headers["Location"]).query["code"]
    account = await stack.service.add_google_from_code(code, redirect_uri, pkce)
    assert account.email == "carol@example.com"
    secret = await asyncio.to_thread(stack.secrets.get, account.id)
    assert secret is not None and secret.startswith("1//")


async def test_add_api_key(fake_google: FakeGoogle, stack: Stack) -> None:
    key = fake_google.add_api_key(models=["gemini-2.5-pro", "gemini-2.5-flash"])
    account = await stack.service.add_api_key(key)
    assert account.kind is AccountKind.API_KEY
    assert account.label == f"API key AIza…{key[-4:]}"  # masked as everywhere (core.redact.mask_secret)
    assert account.email is None
    assert {"gemini-2.5-pro", "gemini-2.5-flash"} <= set(account.quotas)
    assert account.quotas["gemini-2.5-pro"].remaining_fraction is None
    assert await asyncio.to_thread(stack.secrets.get, account.id) == key
    # The same key again is the same account, relabelled.
    again = await stack.service.add_api_key(f"  {key}\n", label="studio")
    assert again.id == account.id
    assert again.label == "studio"
    assert len(stack.service.accounts()) == 1


async def test_bad_api_key_is_refused_and_not_stored(stack: Stack, settings: Settings) -> None:
    with pytest.raises(UpstreamError) as caught:
        await stack.service.add_api_key("AIzaSyNotAKeyTheFakeKnows0123456789abc")
    assert "AIzaSyNotAKeyTheFakeKnows" not in str(caught.value)
    assert stack.service.accounts() == []
    assert not (settings.home / "secrets.json").exists()


async def test_import_merges_duplicates_and_reports_broken_entries(
    fake_google: FakeGoogle, stack: Stack, tmp_path: Path
) -> None:
    known = fake_google.add_google_account("known@example.com")
    await stack.service.add_google(known.refresh_token)
    first_a = fake_google.add_google_account("a@example.com")
    last_a = fake_google.add_google_account("a@example.com")
    b = fake_google.add_google_account("b@example.com")
    revoked = fake_google.add_google_account("revoked@example.com")
    fake_google.revoke(revoked.refresh_token)
    known_again = fake_google.add_google_account("known@example.com")
    path = tmp_path / "accounts.json"
    path.write_text(
        json.dumps(
            [
                {"refresh_token": first_a.refresh_token, "email": "a@example.com"},
                {"refresh_token": b.refresh_token},
                {"email": "nothing@example.com"},
                {"refresh_token": revoked.refresh_token, "email": "revoked@example.com"},
                "not an object",
                {"refresh_token": known_again.refresh_token, "email": "known@example.com"},
                {"refresh_token": last_a.refresh_token, "email": "A@example.com"},
            ]
        )
    )
    result = await stack.service.import_file(path)
    assert sorted(result.added) == ["a@example.com", "b@example.com"]
    assert result.updated == ["known@example.com"]
    failed = dict(result.failed)
    assert set(failed) == {"nothing@example.com", "revoked@example.com", "#5"}
    assert "refresh_token" in failed["nothing@example.com"]
    assert revoked.refresh_token not in failed["revoked@example.com"]
    assert len(stack.service.accounts()) == 3
    a = stack.service.find("a@example.com")
    assert a is not None
    assert await asyncio.to_thread(stack.secrets.get, a.id) == last_a.refresh_token
    assert token_calls(fake_google, first_a.refresh_token) == 0  # merged away before any call


async def test_import_reads_a_file_with_a_byte_order_mark(
    fake_google: FakeGoogle, stack: Stack, tmp_path: Path
) -> None:
    # Windows PowerShell 5.1's `Set-Content -Encoding UTF8` and Notepad's "UTF-8 with BOM" write one.
    account = fake_google.add_google_account("bom@example.com")
    path = tmp_path / "accounts.json"
    document = json.dumps([{"refresh_token": account.refresh_token, "email": "bom@example.com"}])
    path.write_bytes(b"\xef\xbb\xbf" + document.encode("utf-8"))
    result = await stack.service.import_file(path)
    assert (result.added, result.failed) == (["bom@example.com"], [])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{broken", "not valid JSON"),
        ('{"refresh_token": "1//x"}', "list"),
        (None, "cannot be read"),
    ],
)
async def test_import_refuses_an_unusable_file(
    stack: Stack, tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "import.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ImportFileError, match=message):
        await stack.service.import_file(path)
    assert stack.service.accounts() == []


async def test_remove_by_email(fake_google: FakeGoogle, stack: Stack) -> None:
    alice = await stack.service.add_google(fake_google.add_google_account("alice@example.com").refresh_token)
    bob = await stack.service.add_google(fake_google.add_google_account("bob@example.com").refresh_token)
    removed = await stack.service.remove("ALICE@example.com")
    assert removed.id == alice.id
    assert [a.id for a in stack.service.accounts()] == [bob.id]
    assert stack.changes[-1] == alice.id
    assert await asyncio.to_thread(stack.secrets.get, alice.id) is None
    assert [a.id for a in await asyncio.to_thread(stack.db.list_accounts)] == [bob.id]
    with pytest.raises(UpstreamError):
        await stack.credentials.secret(alice)  # nothing cached either
    with pytest.raises(KeyError):
        await stack.service.remove("alice@example.com")
    await stack.service.remove(bob.id)
    assert stack.service.accounts() == []


async def test_refresh_quota_updates_quota_and_keeps_the_project(
    fake_google: FakeGoogle, stack: Stack
) -> None:
    fake_account = fake_google.add_google_account("q@example.com", tier="free-tier")
    account = await stack.service.add_google(fake_account.refresh_token)
    assert account.tier == _TIER_NAMES["free-tier"] and account.tier_id == "free-tier"
    lookups = fake_google.count("loadCodeAssist", "q@example.com")
    fake_google.set_remaining("q@example.com", "gemini-3.1-pro-high", 0.1)
    changes_before = len(stack.changes)
    refreshed = await stack.service.refresh_quota(account.id)
    assert refreshed.quotas["gemini-3.1-pro-high"].remaining_fraction == pytest.approx(0.1)
    # The project and tier are looked up once per account, not on every quota read.
    assert fake_google.count("loadCodeAssist", "q@example.com") == lookups
    assert refreshed.tier == _TIER_NAMES["free-tier"] and refreshed.project_id == fake_account.project_id
    assert len(stack.changes) == changes_before + 1
    [stored] = await asyncio.to_thread(stack.db.list_accounts)
    assert stored.quotas["gemini-3.1-pro-high"].remaining_fraction == pytest.approx(0.1)


async def test_quota_refresh_marks_needs_signin_after_revoke(fake_google: FakeGoogle, stack: Stack) -> None:
    fake_account = fake_google.add_google_account("r@example.com")
    account = await stack.service.add_google(fake_account.refresh_token)
    fake_google.revoke(fake_account.refresh_token)
    fake_google.expire_access_tokens("r@example.com")  # the sign-in is checked when the token needs renewing
    with pytest.raises(UpstreamError) as caught:
        await stack.service.refresh_quota(account.id)
    assert caught.value.kind is ErrorKind.NEEDS_SIGNIN
    assert account.status is AccountStatus.NEEDS_SIGNIN
    assert account.status_reason
    [stored] = await asyncio.to_thread(stack.db.list_accounts)
    assert stored.status is AccountStatus.NEEDS_SIGNIN
    assert stack.changes[-1] == account.id


async def test_forbidden_blocks_and_a_good_refresh_clears_it(fake_google: FakeGoogle, stack: Stack) -> None:
    fake_account = fake_google.add_google_account("f@example.com")
    account = await stack.service.add_google(fake_account.refresh_token)
    # Twice: the first 403 might be a stale project, so the project is looked up again and the read retried.
    fake_google.inject(Fault("forbidden", method="fetchAvailableModels", who="f@example.com", times=2))
    lookups = fake_google.count("loadCodeAssist", "f@example.com")
    with pytest.raises(UpstreamError) as caught:
        await stack.service.refresh_quota(account.id)
    assert caught.value.kind is ErrorKind.FORBIDDEN
    assert fake_google.count("loadCodeAssist", "f@example.com") == lookups + 1
    assert account.status is AccountStatus.BLOCKED
    assert account.status_reason == caught.value.message
    await stack.service.refresh_quota(account.id)  # the fault fired its two times: now it works again
    assert stack.service.get(account.id) is account
    assert status_of(account) is AccountStatus.OK
    assert account.status_reason == ""
    [stored] = await asyncio.to_thread(stack.db.list_accounts)
    assert stored.status is AccountStatus.OK


async def test_revoked_api_key_is_blocked_on_refresh(fake_google: FakeGoogle, stack: Stack) -> None:
    key = fake_google.add_api_key()
    account = await stack.service.add_api_key(key)
    fake_google.revoke(key)
    with pytest.raises(UpstreamError):
        await stack.service.refresh_quota(account.id)
    assert account.status is AccountStatus.BLOCKED


async def test_refresh_all_quotas_records_failures_and_skips_disabled(
    fake_google: FakeGoogle, stack: Stack
) -> None:
    good = await stack.service.add_google(fake_google.add_google_account("good@example.com").refresh_token)
    bad_fake = fake_google.add_google_account("bad@example.com")
    bad = await stack.service.add_google(bad_fake.refresh_token)
    off = await stack.service.add_google(fake_google.add_google_account("off@example.com").refresh_token)
    await stack.service.set_enabled(off.id, False)
    fake_google.revoke(bad_fake.refresh_token)
    fake_google.expire_access_tokens("bad@example.com")
    fake_google.set_remaining("good@example.com", "gemini-3-flash", 0.25)
    calls_for_off = len([c for c in fake_google.calls("fetchAvailableModels") if c.who == "off@example.com"])
    await stack.service.refresh_all_quotas()  # does not raise
    assert good.quotas["gemini-3-flash"].remaining_fraction == pytest.approx(0.25)
    assert bad.status is AccountStatus.NEEDS_SIGNIN
    assert good.status is AccountStatus.OK
    assert (
        len([c for c in fake_google.calls("fetchAvailableModels") if c.who == "off@example.com"])
        == calls_for_off
    )


async def test_set_model_quota_and_touch(fake_google: FakeGoogle, stack: Stack) -> None:
    account = await stack.service.add_google(fake_google.add_google_account("t@example.com").refresh_token)
    quotas_before = account.quotas
    await stack.service.set_model_quota(account.id, ModelQuota("gemini-3.1-pro-high", remaining_fraction=0.0))
    assert account.quotas["gemini-3.1-pro-high"].exhausted
    assert quotas_before["gemini-3.1-pro-high"].remaining_fraction == pytest.approx(1.0)  # old dict untouched
    [stored] = await asyncio.to_thread(stack.db.list_accounts)
    assert stored.quotas["gemini-3.1-pro-high"].exhausted
    await stack.service.touch(account.id)
    assert account.last_used_at is not None
    [stored] = await asyncio.to_thread(stack.db.list_accounts)
    assert stored.last_used_at is None  # batched: not written on every request
    await stack.service.touch("no-such-account")  # removed meanwhile: ignored
    with pytest.raises(KeyError):
        await stack.service.set_status("no-such-account", AccountStatus.OK)


async def test_touch_is_written_once_the_interval_passed(
    fake_google: FakeGoogle, build: Callable[..., Awaitable[Stack]]
) -> None:
    stack = await build(touch_persist_s=0.0)
    account = await stack.service.add_google(fake_google.add_google_account("u@example.com").refresh_token)
    await stack.service.touch(account.id)
    [stored] = await asyncio.to_thread(stack.db.list_accounts)
    assert stored.last_used_at == account.last_used_at


async def test_a_failing_listener_does_not_break_changes(fake_google: FakeGoogle, stack: Stack) -> None:
    def broken(_account_id: str) -> None:
        raise RuntimeError("listener bug")

    stack.service.add_listener(broken)
    account = await stack.service.add_google(fake_google.add_google_account("l@example.com").refresh_token)
    await stack.service.set_enabled(account.id, False)
    assert stack.changes == [account.id, account.id]


async def test_everything_survives_a_restart(
    fake_google: FakeGoogle, build: Callable[..., Awaitable[Stack]]
) -> None:
    first = await build()
    google_fake = fake_google.add_google_account("p@example.com", project_id="proj-p")
    google = await first.service.add_google(google_fake.refresh_token)
    key = fake_google.add_api_key()
    api = await first.service.add_api_key(key, label="studio")
    await first.service.set_enabled(api.id, False)
    await first.service.set_status(google.id, AccountStatus.BLOCKED, "verify")
    await first.service.touch(google.id)
    await first.close()  # writes the batched last_used_at

    second = await build()
    loaded = second.service.accounts()
    assert [a.id for a in loaded] == [google.id, api.id]
    assert loaded[0] == google
    assert loaded[1] == api
    assert loaded[0].last_used_at is not None
    assert second.service.find("P@EXAMPLE.COM") is loaded[0]
    # Secrets come back too: the new service can get a token and list the key's models.
    assert (await second.credentials.access_token(loaded[0])).startswith("ya29.")
    await second.service.refresh_quota(api.id)
    assert loaded[1].quotas


async def test_labels_are_tidied_kept_across_a_restart_and_never_leave_a_key_nameless(
    fake_google: FakeGoogle, build: Callable[..., Awaitable[Stack]]
) -> None:
    first = await build()
    google = await first.service.add_google(fake_google.add_google_account("l@example.com").refresh_token)
    api = await first.service.add_api_key(fake_google.add_api_key(), label="studio")
    await first.service.set_label(google.id, "  team \n  B  " + "x" * 100)
    assert google.label is not None and google.label.startswith("team B x") and len(google.label) == 40
    assert first.service.find("TEAM B " + "X" * 33) is google  # found by its label, like by its e-mail
    await first.service.set_label(api.id, "   ")  # a key's label is its name: clearing keeps it
    assert api.label == "studio" and api.name == "studio"
    await first.service.set_label(api.id, "ci key")
    await first.close()

    second = await build()
    assert [a.label for a in second.service.accounts()] == [google.label, "ci key"]
    await second.service.set_label(google.id, "")
    reloaded = second.service.get(google.id)
    assert reloaded is not None and reloaded.label is None
    await second.close()
