"""Accounts, shared by every API the service speaks: users, API keys, JWT, plans, credits
and rate limits.

Works on the tables users, api_keys, credit_holds, rate_windows and account_settings of the
task store (schema.py). API keys are kept as SHA-256 hashes (a leaked database leaks no key); passwords
as Argon2id hashes. Credits belong to a key (None: unlimited). A submit reserves the price;
the task's terminal transition settles the hold once (a compare-and-set on its state): a
success charges it, a failure refunds it, and a second settle does nothing.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import math
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass

import jwt
import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ..errors import DraftRenderError, InvalidRequest, Unauthorized
from .schema import api_keys, credit_holds, rate_windows, settings, users

HELD, CHARGED, REFUNDED = "held", "charged", "refunded"
JWT_ALGORITHM = "HS256"


# ---------------------------------------------------------------- plans and prices


@dataclass(frozen=True)
class Plan:
    """What a plan allows; None is unlimited."""

    requests_per_day: int | None
    concurrent_renders: int | None


# VideoMatic's plans. "unlimited" is what keys given on the command line get.
PLANS: dict[str, Plan] = {
    "free": Plan(100, 1),
    "starter": Plan(1000, 5),
    "pro": Plan(10000, 20),
    "enterprise": Plan(None, None),
    "unlimited": Plan(None, None),
}


@dataclass(frozen=True)
class Price:
    """Credits for one generation: the first rule whose fields all match applies.

    `model` is a glob (case-insensitive); a field left None matches anything.
    """

    model: str
    credits: int
    resolution: str | None = None  # "480p", "720p", "1080p" (from the short side of a size)
    seconds: float | None = None
    audio: bool | None = None

    def matches(self, model: str, resolution: str | None, seconds: float | None, audio: bool) -> bool:
        return (fnmatch.fnmatchcase(model.lower(), self.model.lower())
                and self.resolution in (None, resolution)
                and (self.seconds is None or seconds == self.seconds)
                and self.audio in (None, audio))


def _vibegen_table() -> tuple[Price, ...]:
    # vibegen's document, section 7 (Seedance 2.0): (with sound, without) per resolution and length.
    table = {("480p", 5): (20, 15), ("720p", 5): (43, 30), ("1080p", 5): (90, 50),
             ("480p", 10): (40, 25), ("720p", 10): (86, 45), ("1080p", 10): (180, 100)}
    return tuple(Price("seedance*", credits, res, secs, audio)
                 for (res, secs), pair in table.items() for audio, credits in zip((True, False), pair, strict=True))


DEFAULT_PRICES: tuple[Price, ...] = _vibegen_table()


def resolution_of(size: str | None, resolution: str | None = None) -> str | None:
    """"720p" for a size of 1280x720 (the short side), or the resolution given."""
    if resolution:
        return resolution.lower()
    if not size or "x" not in size:
        return None
    w, h = (int(v) for v in size.lower().split("x", 1))
    return f"{min(w, h)}p"


def price_of(prices: Iterable[Price], model: str, *, resolution: str | None, seconds: float | None,
             audio: bool) -> int:
    """The credits a generation costs; 0 when no rule prices it."""
    for rule in prices:
        if rule.matches(model, resolution, seconds, audio):
            return rule.credits
    return 0


def read_prices(rows: list[dict]) -> tuple[Price, ...]:
    """Price rules from a providers or prices file's [[price]] tables, checked."""
    out = []
    for i, row in enumerate(rows, 1):
        unknown = set(row) - {"model", "credits", "resolution", "seconds", "audio"}
        if unknown or "model" not in row or not isinstance(row.get("credits"), int):
            extra = f"; unknown {', '.join(sorted(unknown))}" if unknown else ""
            raise ValueError(f"price rule {i}: needs model (a glob) and credits (a whole number); "
                             f"optional resolution, seconds, audio{extra}")
        out.append(Price(**row))
    return tuple(out)


# ---------------------------------------------------------------- errors


class InsufficientCredits(DraftRenderError):
    status, detail = 402, "积分不足"

    def __init__(self, required: int, available: int):
        super().__init__(f"Insufficient credits. Required: {required}, Available: {available}")
        self.required, self.available = required, available


class RateLimited(DraftRenderError):
    status, detail = 429, "请求频率超限"

    def __init__(self, message: str, window: RateWindow):
        super().__init__(message)
        self.window = window
        self.retry_after = max(1, math.ceil(window.reset - time.time()))


@dataclass(frozen=True)
class RateWindow:
    """One key's standing in one fixed window: for the X-RateLimit-* headers."""

    limit: int
    remaining: int
    reset: int  # unix time the window ends

    def headers(self) -> dict[str, str]:
        return {"X-RateLimit-Limit": str(self.limit), "X-RateLimit-Remaining": str(self.remaining),
                "X-RateLimit-Reset": str(self.reset)}


# ---------------------------------------------------------------- who is calling


@dataclass(frozen=True)
class Principal:
    """The caller behind a request: an API key, or a user's JWT (billed to the user's first key)."""

    key_id: str | None
    user_id: str | None
    plan: str
    admin: bool = False
    webhook_secret: str = ""

    @property
    def limits(self) -> Plan:
        return PLANS.get(self.plan, PLANS["free"])


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_webhook_secret() -> str:
    """A Standard Webhooks secret (whsec_ + base64 of 24 random bytes)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


class Accounts:
    """Every account operation, over the task store's engine. Safe to call from several
    threads and processes: each change is one short transaction, and the ones that must not
    happen twice (holds, credits, windows) are conditional updates."""

    def __init__(self, engine: sa.Engine, *, jwt_secret: str | None = None, jwt_ttl: float = 3600.0,
                 prices: Iterable[Price] = DEFAULT_PRICES):
        self.engine = engine
        self.jwt_ttl = jwt_ttl
        self.prices = tuple(prices)
        self.hasher = PasswordHasher()
        self._jwt_secret = jwt_secret or self._setting("jwt_secret", lambda: secrets.token_urlsafe(48))

    def _setting(self, name: str, make) -> str:
        with self.engine.begin() as db:
            value = db.execute(sa.select(settings.c.value).where(settings.c.name == name)).scalar()
            if value is None:
                value = make()
                db.execute(settings.insert().values(name=name, value=value))
            return value

    # -- keys -----------------------------------------------------------------------

    def create_key(self, *, name: str = "", user_id: str | None = None, plan: str = "free",
                   credits: int | None = None, admin: bool = False, key: str | None = None) -> tuple[str, str]:
        """A new key: (the key itself, shown once; its id)."""
        if plan not in PLANS:
            raise InvalidRequest(f"unknown plan {plan!r}; known: {', '.join(PLANS)}")
        key = key or "sk-" + secrets.token_urlsafe(32)
        key_id = "key_" + secrets.token_hex(8)
        with self.engine.begin() as db:
            db.execute(api_keys.insert().values(
                id=key_id, key_hash=key_hash(key), user_id=user_id, name=name, plan=plan, credits=credits,
                admin=admin, webhook_secret=new_webhook_secret(), created=time.time()))
        return key, key_id

    def ensure_keys(self, keys: Iterable[str], *, plan: str = "unlimited", admin: bool = False) -> None:
        """Keys given on the command line (--api-key, --api-keys-file) become accounts: unlimited
        credits and requests, unless an operator has since changed them."""
        for key in keys:
            with self.engine.begin() as db:
                known = db.execute(sa.select(api_keys.c.id).where(api_keys.c.key_hash == key_hash(key))).first()
            if known is None:
                self.create_key(name="command line", plan=plan, key=key, admin=admin)

    def key_info(self, key_id: str) -> dict | None:
        with self.engine.begin() as db:
            row = db.execute(sa.select(api_keys).where(api_keys.c.id == key_id)).mappings().first()
        if row is None:
            return None
        return {k: v for k, v in row.items() if k != "key_hash"}

    def list_keys(self) -> list[dict]:
        with self.engine.begin() as db:
            rows = db.execute(sa.select(api_keys).order_by(api_keys.c.created)).mappings().all()
        return [{k: v for k, v in r.items() if k not in ("key_hash", "webhook_secret")} for r in rows]

    def update_key(self, key_id: str, **values) -> bool:
        """Change a key's plan, credits, name, admin flag or webhook_secret; False if no such key."""
        allowed = {"plan", "credits", "name", "admin", "webhook_secret"}
        if set(values) - allowed:
            raise InvalidRequest(f"a key's fields that may change: {', '.join(sorted(allowed))}")
        if "plan" in values and values["plan"] not in PLANS:
            raise InvalidRequest(f"unknown plan {values['plan']!r}; known: {', '.join(PLANS)}")
        with self.engine.begin() as db:
            return db.execute(api_keys.update().where(api_keys.c.id == key_id).values(**values)).rowcount == 1

    def add_credits(self, key_id: str, amount: int) -> None:
        with self.engine.begin() as db:
            db.execute(api_keys.update().where(api_keys.c.id == key_id, api_keys.c.credits.is_not(None))
                       .values(credits=api_keys.c.credits + amount))

    def revoke_key(self, key_id: str) -> bool:
        with self.engine.begin() as db:
            return db.execute(api_keys.update().where(api_keys.c.id == key_id, api_keys.c.revoked.is_(None))
                              .values(revoked=time.time())).rowcount == 1

    def webhook_secret(self, key_id: str | None) -> str:
        """The secret that signs a key's callbacks; the service's own for tasks made without a key."""
        if key_id is not None:
            with self.engine.begin() as db:
                secret = db.execute(sa.select(api_keys.c.webhook_secret).where(api_keys.c.id == key_id)).scalar()
            if secret:
                return secret
        return self._setting("webhook_secret", new_webhook_secret)

    def has_keys(self) -> bool:
        with self.engine.begin() as db:
            return db.execute(sa.select(api_keys.c.id).where(api_keys.c.revoked.is_(None)).limit(1)).first() is not None

    # -- users and tokens -----------------------------------------------------------

    def create_user(self, email: str, password: str, *, plan: str = "free") -> str:
        if plan not in PLANS:
            raise InvalidRequest(f"unknown plan {plan!r}; known: {', '.join(PLANS)}")
        if not email or "@" not in email or len(password) < 8:
            raise InvalidRequest("a user needs an email address and a password of at least 8 characters")
        user_id = "user_" + secrets.token_hex(8)
        with self.engine.begin() as db:
            if db.execute(sa.select(users.c.id).where(users.c.email == email.lower())).first():
                raise InvalidRequest(f"a user with email {email} exists already")
            db.execute(users.insert().values(id=user_id, email=email.lower(), password_hash=self.hasher.hash(password),
                                             plan=plan, created=time.time()))
        return user_id

    def login(self, email: str, password: str) -> tuple[str, int]:
        """A JWT for the user and its expiry (unix time); Unauthorized on a wrong email or password."""
        with self.engine.begin() as db:
            row = db.execute(sa.select(users).where(users.c.email == (email or "").lower())).mappings().first()
        try:
            if row is None:
                raise VerificationError("no such user")
            self.hasher.verify(row["password_hash"], password or "")
        except (VerificationError, InvalidHashError):
            raise Unauthorized("wrong email or password") from None
        if self.hasher.check_needs_rehash(row["password_hash"]):
            with self.engine.begin() as db:
                db.execute(users.update().where(users.c.id == row["id"])
                           .values(password_hash=self.hasher.hash(password)))
        expires = int(time.time() + self.jwt_ttl)
        token = jwt.encode({"sub": row["id"], "exp": expires, "iat": int(time.time())}, self._jwt_secret,
                           algorithm=JWT_ALGORITHM)
        return token, expires

    def authenticate(self, token: str) -> Principal:
        """The caller a Bearer token names: an API key or a JWT. Unauthorized if neither."""
        token = (token or "").strip()
        if not token:
            raise Unauthorized("this service needs an API key: send Authorization: Bearer <key>")
        if token.count(".") == 2 and not token.startswith("sk-"):
            return self._from_jwt(token)
        with self.engine.begin() as db:
            row = db.execute(sa.select(api_keys).where(api_keys.c.key_hash == key_hash(token),
                                                       api_keys.c.revoked.is_(None))).mappings().first()
        if row is None:
            raise Unauthorized("Invalid API key provided (send Authorization: Bearer <key>)")
        return _principal(row)

    def _from_jwt(self, token: str) -> Principal:
        try:
            claims = jwt.decode(token, self._jwt_secret, algorithms=[JWT_ALGORITHM],
                                options={"require": ["exp", "sub"]})
        except jwt.ExpiredSignatureError:
            raise Unauthorized("the token has expired: log in again") from None
        except jwt.InvalidTokenError:
            raise Unauthorized("invalid token") from None
        with self.engine.begin() as db:
            user = db.execute(sa.select(users).where(users.c.id == claims["sub"])).mappings().first()
            key = db.execute(sa.select(api_keys)
                             .where(api_keys.c.user_id == claims["sub"], api_keys.c.revoked.is_(None))
                             .order_by(api_keys.c.created).limit(1)).mappings().first()
        if user is None:
            raise Unauthorized("the token's user no longer exists")
        if key is not None:
            return Principal(key["id"], user["id"], user["plan"], bool(key["admin"]), key["webhook_secret"])
        return Principal(None, user["id"], user["plan"])

    # -- credits --------------------------------------------------------------------

    def price(self, model: str, *, size: str | None = None, resolution: str | None = None,
              seconds: float | None = None, audio: bool = False) -> int:
        return price_of(self.prices, model, resolution=resolution_of(size, resolution), seconds=seconds, audio=audio)

    def credits(self, key_id: str) -> int | None:
        with self.engine.begin() as db:
            return db.execute(sa.select(api_keys.c.credits).where(api_keys.c.id == key_id)).scalar()

    def reserve(self, key_id: str | None, task_id: str, amount: int) -> None:
        """Hold `amount` of the key's credits for a task; InsufficientCredits if short.

        A key with unlimited credits (or no key at all) holds nothing."""
        if key_id is None or amount <= 0:
            return
        with self.engine.begin() as db:
            taken = db.execute(api_keys.update().where(
                api_keys.c.id == key_id, api_keys.c.credits.is_not(None), api_keys.c.credits >= amount,
            ).values(credits=api_keys.c.credits - amount)).rowcount
            if not taken:
                available = db.execute(sa.select(api_keys.c.credits).where(api_keys.c.id == key_id)).scalar()
                if available is None:
                    return  # unlimited
                raise InsufficientCredits(amount, available)
            db.execute(credit_holds.insert().values(task_id=task_id, key_id=key_id, amount=amount, state=HELD,
                                                    created=time.time()))

    def settle(self, task_id: str, *, success: bool) -> bool:
        """Charge (success) or refund (failure) a task's hold. True for the one call that did;
        every later call, or a task that held nothing, returns False."""
        state = CHARGED if success else REFUNDED
        with self.engine.begin() as db:
            hold = db.execute(sa.select(credit_holds).where(credit_holds.c.task_id == task_id)).mappings().first()
            if hold is None:
                return False
            won = db.execute(credit_holds.update().where(credit_holds.c.task_id == task_id,
                                                         credit_holds.c.state == HELD)
                             .values(state=state, settled=time.time())).rowcount == 1
            if won and not success:
                db.execute(api_keys.update().where(api_keys.c.id == hold["key_id"], api_keys.c.credits.is_not(None))
                           .values(credits=api_keys.c.credits + hold["amount"]))
            return won

    def hold(self, task_id: str) -> dict | None:
        with self.engine.begin() as db:
            row = db.execute(sa.select(credit_holds).where(credit_holds.c.task_id == task_id)).mappings().first()
        return dict(row) if row else None

    # -- rate limits ----------------------------------------------------------------

    def take(self, key_id: str | None, scope: str, limit: int | None, window_s: int) -> RateWindow | None:
        """Count one request of `scope` in the key's current fixed window of `window_s` seconds.

        Returns the window's standing, or None when nothing limits this caller; RateLimited
        (counting nothing) when the window is full."""
        if key_id is None or limit is None:
            return None
        now = int(time.time())
        start = now - now % window_s
        where = (rate_windows.c.key_id == key_id, rate_windows.c.scope == scope, rate_windows.c.window_start == start)
        with self.engine.begin() as db:
            db.execute(rate_windows.delete().where(rate_windows.c.key_id == key_id, rate_windows.c.scope == scope,
                                                   rate_windows.c.window_start < start))
            count_one = rate_windows.update().where(*where, rate_windows.c.count < limit).values(
                count=rate_windows.c.count + 1)
            counted = db.execute(count_one).rowcount or self._open_window(db, key_id, scope, start)
            if not counted and not db.execute(count_one).rowcount:  # another request opened it just now
                window = RateWindow(limit, 0, start + window_s)
                raise RateLimited(f"Rate limit exceeded: {limit} requests per {window_s} s for this key", window)
            count = db.execute(sa.select(rate_windows.c.count).where(*where)).scalar()
        return RateWindow(limit, max(0, limit - (count or 0)), start + window_s)

    @staticmethod
    def _open_window(db, key_id: str, scope: str, start: int) -> bool:
        """Start the window with this request; False if it exists already (it is full)."""
        try:
            with db.begin_nested():  # a concurrent first request may insert it first
                db.execute(rate_windows.insert().values(key_id=key_id, scope=scope, window_start=start, count=1))
            return True
        except sa.exc.IntegrityError:
            return False


def _principal(row) -> Principal:
    return Principal(row["id"], row["user_id"], row["plan"], bool(row["admin"]), row["webhook_secret"])
