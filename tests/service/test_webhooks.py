"""Webhook deliveries against a receiver on loopback that verifies Standard Webhooks
signatures with the `standardwebhooks` package, fails twice, then accepts; a sender that
outlives its database (PostgreSQL) going away."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from aiohttp import web
from standardwebhooks.webhooks import Webhook

from draftrender.errors import InvalidRequest
from draftrender.service.accounts import new_webhook_secret
from draftrender.service.db import open_database, sqlite_url
from draftrender.service.webhooks import DELIVERED, FAILED, Webhooks, check_callback_url, retry_delay


@pytest.fixture
def engine(tmp_path):
    engine = open_database(sqlite_url(tmp_path / "store.sqlite3"))
    yield engine
    engine.dispose()


async def _until(predicate, timeout: float = 20) -> None:
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("never happened")


async def _receiver(handler):
    app = web.Application()
    app.router.add_post("/hook", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}/hook"


def test_signed_delivery_retried_after_two_failures(engine):
    secret = new_webhook_secret()
    received = []

    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        payload = Webhook(secret).verify(body, dict(request.headers))  # raises on a bad signature
        received.append((request.headers["webhook-id"], payload))
        return web.Response(status=500 if len(received) <= 2 else 204)

    async def scenario():
        runner, url = await _receiver(hook)
        hooks = Webhooks(engine, retry_base=0.05, retry_max=0.2, allow_private_urls=True)
        sender = asyncio.create_task(hooks.run())
        msg = hooks.enqueue("task1", url, "task.completed", {"event": "task.completed", "task_id": "task1"},
                            secret=secret)
        await _until(lambda: hooks.log("task1")[0]["status"] == DELIVERED)
        sender.cancel()
        await runner.cleanup()
        return msg, hooks.log("task1")

    msg, log = asyncio.run(scenario())
    assert [r[0] for r in received] == [msg] * 3  # one message id across the retries
    assert received[-1][1] == {"event": "task.completed", "task_id": "task1"}
    (delivery,) = log
    assert delivery["attempts"] == 3
    assert [a["status"] for a in delivery["log"]] == [500, 500, 204]
    assert [a["error"] for a in delivery["log"]] == ["HTTP 500", "HTTP 500", None]


def test_private_callback_refused_and_given_up_after_the_period(engine):
    async def scenario():
        hooks = Webhooks(engine, retry_base=0.05, retry_max=0.05, give_up_after=0.2)
        sender = asyncio.create_task(hooks.run())
        hooks.enqueue("task2", "http://127.0.0.1:9/hook", "task.failed", {"x": 1}, secret=new_webhook_secret())
        await _until(lambda: hooks.log("task2")[0]["status"] == FAILED)
        sender.cancel()
        return hooks.log("task2")[0]

    delivery = asyncio.run(scenario())
    assert "private address" in delivery["log"][0]["error"]
    assert delivery["attempts"] >= 2


def test_the_sender_outlives_its_database_going_away(postgres, caplog):
    engine = open_database(postgres.create_database(f"hooks_{uuid.uuid4().hex[:12]}"))
    received = []

    async def hook(request: web.Request) -> web.Response:
        received.append(await request.read())
        return web.Response(status=204)

    def failed_rounds() -> int:
        return sum(r.getMessage() == "webhook round failed" for r in caplog.records)

    async def scenario() -> bool:
        runner, url = await _receiver(hook)
        hooks = Webhooks(engine, allow_private_urls=True, idle_s=0.1)  # looks for deliveries every 0.1 s
        sender = asyncio.create_task(hooks.run())
        await asyncio.to_thread(postgres.stop)
        try:
            await _until(lambda: failed_rounds() >= 2)
        finally:
            await asyncio.to_thread(postgres.start)
        hooks.enqueue("task3", url, "task.completed", {"ok": True}, secret=new_webhook_secret())
        await _until(lambda: hooks.log("task3")[0]["status"] == DELIVERED)
        alive = not sender.done()
        sender.cancel()
        await runner.cleanup()
        return alive

    try:
        assert asyncio.run(scenario())
    finally:
        engine.dispose()
    assert received == [b'{"ok":true}']


def test_backoff_doubles_up_to_the_cap_and_urls_are_checked():
    assert [retry_delay(n, 30, 3600) for n in (1, 2, 3, 9)] == [30, 60, 120, 3600]
    with pytest.raises(InvalidRequest, match="callback_url"):
        check_callback_url("ftp://example.com/x")
    assert json.dumps(check_callback_url(" https://example.com/h ")) == '"https://example.com/h"'
