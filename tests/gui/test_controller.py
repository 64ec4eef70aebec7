"""The controller in the real qasync loop: server life cycle, and core events arriving as Qt signals."""

from __future__ import annotations

import aiohttp

from gui.controller import AppController, ServerStatus
from tests.gui.conftest import API_KEY
from tests.gui.helpers import SignalRecorder, wait_until


async def test_server_serves_and_log_rows_arrive_as_signals(controller: AppController) -> None:
    assert controller.state.status is ServerStatus.SERVING
    body = {"model": "gemini-3-flash", "messages": [{"role": "user", "content": "hi"}]}
    recorder = SignalRecorder(controller.log_rows_added)
    async with aiohttp.ClientSession() as http:
        url = controller.state.url + "/v1/chat/completions"
        async with http.post(url, json=body, headers={"Authorization": f"Bearer {API_KEY}"}) as response:
            assert response.status == 200
    await wait_until(lambda: bool(recorder.emissions))
    ((rows,),) = recorder.emissions
    (row,) = rows
    assert row.status == 200 and row.account == "alice@example.com" and row.id is not None


async def test_pause_and_resume(controller: AppController) -> None:
    url = controller.state.url
    recorder = SignalRecorder(controller.server_state_changed)
    await controller.pause()
    assert [args[0].status for args in recorder.emissions] == [ServerStatus.PAUSED]
    assert controller.state.status is ServerStatus.PAUSED
    async with aiohttp.ClientSession() as http:
        try:
            async with http.get(url + "/healthz"):
                raise AssertionError("still listening while paused")
        except aiohttp.ClientConnectionError:
            pass
        await controller.resume()
        resumed = controller.state
        assert resumed.status is ServerStatus.SERVING
        async with http.get(controller.state.url + "/healthz") as response:
            assert response.status == 200
