"""Webhooks: signed callback deliveries, retried with exponential backoff, with a log per task.

Works on the webhook_deliveries table of the task store (schema.py). `enqueue` records a delivery (the exact
body, the signer's name and secret); `Webhooks.run` sends what is due, oldest first, and
schedules a failed attempt again after base·2ⁿ seconds (at most `retry_max`), until
`give_up_after` seconds from the first try. Each attempt is appended to the delivery's log.

Signers are pluggable: a signer turns (message id, event, time, body, secret) into headers.
"standard" is Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature v1) from
the `standardwebhooks` package; another API registers its own with `register_signer`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime

import aiohttp
import sqlalchemy as sa
from standardwebhooks.webhooks import Webhook

from ..http import USER_AGENT, ensure_public_url, new_session
from ..errors import DraftRenderError, InvalidRequest
from ..timeline.load import check_url
from .schema import deliveries

log = logging.getLogger("draftrender.webhooks")

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"

Signer = Callable[[str, str, datetime, bytes, str], dict[str, str]]


def standard_signer(msg_id: str, event: str, at: datetime, body: bytes, secret: str) -> dict[str, str]:
    """Standard Webhooks headers; the receiver verifies them with the same secret."""
    signature = Webhook(secret).sign(msg_id, at, body.decode())
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(at.timestamp())), "webhook-signature": signature}


SIGNERS: dict[str, Signer] = {"standard": standard_signer}


def register_signer(name: str, signer: Signer) -> None:
    """Make a signer available to `enqueue(..., signer=name)`."""
    SIGNERS[name] = signer


def check_callback_url(url, field: str = "callback_url") -> str:
    """The URL if it is a usable http(s) URL; else InvalidRequest naming the field."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidRequest(f"{field} must be an http(s) URL")
    try:
        return check_url(url.strip())
    except DraftRenderError as e:
        raise InvalidRequest(f"{field}: {e.message.replace('draft URL', 'URL')}") from None


def retry_delay(attempts: int, base: float, cap: float) -> float:
    """Seconds before the next try after `attempts` failed ones: base, 2·base, 4·base, … ≤ cap."""
    return min(cap, base * 2 ** max(0, attempts - 1))


class Webhooks:
    """Deliveries over the task store's engine; `run()` is the sender, one per service."""

    def __init__(self, engine: sa.Engine, *, retry_base: float = 30.0, retry_max: float = 3600.0,
                 give_up_after: float = 86400.0, timeout: float = 15.0, allow_private_urls: bool = False,
                 idle_s: float = 60.0):
        self.engine = engine
        self.idle_s = idle_s  # the longest the sender sleeps: others (workers) may add deliveries unseen
        self.retry_base, self.retry_max, self.give_up_after = retry_base, retry_max, give_up_after
        self.timeout = timeout
        self.allow_private_urls = allow_private_urls
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def enqueue(self, task_id: str, url: str, event: str, payload: dict, *, secret: str,
                signer: str = "standard") -> str:
        """Record a delivery, due now; returns its message id."""
        if signer not in SIGNERS:
            raise ValueError(f"no webhook signer {signer!r}; registered: {', '.join(SIGNERS)}")
        msg_id = "msg_" + secrets.token_hex(12)
        now = time.time()
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        with self.engine.begin() as db:
            db.execute(deliveries.insert().values(
                id=msg_id, task_id=task_id, url=url, event=event, body=body, signer=signer, secret=secret,
                status=PENDING, attempts=0, created=now, next_at=now, log=[]))
        self._poke()
        return msg_id

    def _poke(self) -> None:
        """Wake the sender, from its loop's thread or any other."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)

    def log(self, task_id: str) -> list[dict]:
        """A task's deliveries, oldest first: what was sent where, and each attempt's outcome."""
        with self.engine.begin() as db:
            rows = db.execute(sa.select(deliveries).where(deliveries.c.task_id == task_id)
                              .order_by(deliveries.c.created)).mappings().all()
        return [{"id": r["id"], "event": r["event"], "url": r["url"], "status": r["status"],
                 "attempts": r["attempts"], "created": r["created"], "next_at": r["next_at"],
                 "finished": r["finished"], "body": json.loads(r["body"]), "log": r["log"]} for r in rows]

    # -- sending --------------------------------------------------------------------

    async def run(self) -> None:
        """Send due deliveries until cancelled; sleeps until the next one is due or one is added."""
        self._loop = asyncio.get_running_loop()
        # Connections pass the private-address guard, as draft fetches do (no DNS rebinding).
        async with new_session(allow_private_urls=self.allow_private_urls) as session:
            while True:
                self._wake.clear()
                try:
                    await self.send_due(session)
                    pause = self._until_next()
                except Exception:  # the database away for a moment: the sender goes on
                    log.exception("webhook round failed")
                    pause = min(self.idle_s, 5.0)
                try:
                    await asyncio.wait_for(self._wake.wait(), pause)
                except TimeoutError:
                    pass

    def _until_next(self) -> float:
        with self.engine.begin() as db:
            due = db.execute(sa.select(sa.func.min(deliveries.c.next_at))
                             .where(deliveries.c.status == PENDING)).scalar()
        return self.idle_s if due is None else min(self.idle_s, max(0.0, due - time.time()))

    async def send_due(self, session: aiohttp.ClientSession) -> None:
        now = time.time()
        with self.engine.begin() as db:
            due = db.execute(sa.select(deliveries).where(deliveries.c.status == PENDING, deliveries.c.next_at <= now)
                             .order_by(deliveries.c.next_at).limit(50)).mappings().all()
        await asyncio.gather(*(self._attempt(session, dict(row)) for row in due))

    async def _attempt(self, session: aiohttp.ClientSession, row: dict) -> None:
        # Claimed by moving next_at (compare-and-set): another sender on the same store skips it.
        with self.engine.begin() as db:
            claimed = db.execute(deliveries.update().where(deliveries.c.id == row["id"],
                                                           deliveries.c.next_at == row["next_at"])
                                 .values(next_at=time.time() + self.timeout + 60)).rowcount
        if not claimed:
            return
        at = datetime.now(UTC)
        body = row["body"].encode()
        status, error = None, None
        try:
            if not self.allow_private_urls:
                await ensure_public_url(row["url"])
            headers = {"Content-Type": "application/json",
                       **SIGNERS[row["signer"]](row["id"], row["event"], at, body, row["secret"])}
            async with session.post(row["url"], data=body, headers={"User-Agent": USER_AGENT, **headers},
                                    allow_redirects=False, timeout=aiohttp.ClientTimeout(total=self.timeout)) as resp:
                status = resp.status
                await resp.read()
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except DraftRenderError as e:
            error = e.message
        except (aiohttp.ClientError, TimeoutError, OSError) as e:
            error = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
        self._record(row, at.timestamp(), status, error)

    def _record(self, row: dict, at: float, status: int | None, error: str | None) -> None:
        attempts = row["attempts"] + 1
        entry = {"at": round(at, 3), "status": status, "error": error}
        values: dict = {"attempts": attempts, "log": [*row["log"], entry]}
        if error is None:
            values.update(status=DELIVERED, finished=at, next_at=None)
        else:
            next_at = at + retry_delay(attempts, self.retry_base, self.retry_max)
            if next_at - row["created"] > self.give_up_after:
                values.update(status=FAILED, finished=at, next_at=None)
                log.info("webhook %s to %s failed for good after %d attempts: %s", row["id"], row["url"],
                         attempts, error)
            else:
                values["next_at"] = next_at
        with self.engine.begin() as db:
            db.execute(deliveries.update().where(deliveries.c.id == row["id"]).values(**values))
