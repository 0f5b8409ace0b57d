"""Accounts on a real SQLite store: keys, users and JWT, prices, credits held and settled
once (raced from threads), and fixed-window rate limits."""

from __future__ import annotations

import threading
import time

import uuid

import jwt
import pytest

from draftrender.errors import InvalidRequest, Unauthorized
from draftrender.service.accounts import (
    CHARGED,
    REFUNDED,
    Accounts,
    InsufficientCredits,
    Price,
    RateLimited,
    read_prices,
)
from draftrender.service.db import open_database, sqlite_url


@pytest.fixture
def accounts(tmp_path):
    engine = open_database(sqlite_url(tmp_path / "store.sqlite3"))
    yield Accounts(engine)
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_accounts(request, tmp_path):
    url = sqlite_url(tmp_path / "store.sqlite3")
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres").create_database(f"accounts_{uuid.uuid4().hex[:12]}")
    engine = open_database(url)
    yield Accounts(engine)
    engine.dispose()


def test_keys_are_stored_hashed_and_authenticate(accounts, tmp_path):
    key, key_id = accounts.create_key(name="ci", plan="pro", credits=10)
    who = accounts.authenticate(key)
    assert (who.key_id, who.plan, who.admin) == (key_id, "pro", False)
    assert who.webhook_secret.startswith("whsec_")
    assert key.encode() not in (tmp_path / "store.sqlite3").read_bytes()
    with pytest.raises(Unauthorized, match="Invalid API key"):
        accounts.authenticate(key + "x")
    assert accounts.revoke_key(key_id)
    with pytest.raises(Unauthorized):
        accounts.authenticate(key)


def test_command_line_keys_become_unlimited_accounts_once(accounts):
    accounts.ensure_keys(["sk-one", "sk-two"])
    accounts.ensure_keys(["sk-one"])
    assert [k["plan"] for k in accounts.list_keys()] == ["unlimited", "unlimited"]
    who = accounts.authenticate("sk-one")
    assert accounts.credits(who.key_id) is None
    accounts.reserve(who.key_id, "t1", 500)  # unlimited: nothing held
    assert accounts.hold("t1") is None


def test_login_gives_an_expiring_jwt_for_the_users_key(accounts):
    user = accounts.create_user("Ann@example.com", "correct horse", plan="starter")
    _, key_id = accounts.create_key(user_id=user, plan="starter")
    token, expires = accounts.login("ann@example.com", "correct horse")
    who = accounts.authenticate(token)
    assert (who.user_id, who.key_id, who.plan) == (user, key_id, "starter")
    assert expires > time.time()
    with pytest.raises(Unauthorized, match="wrong email or password"):
        accounts.login("ann@example.com", "wrong horse")
    with pytest.raises(Unauthorized, match="wrong email or password"):
        accounts.login("bob@example.com", "correct horse")
    expired = jwt.encode({"sub": user, "exp": int(time.time()) - 5}, accounts._jwt_secret, algorithm="HS256")
    with pytest.raises(Unauthorized, match="expired"):
        accounts.authenticate(expired)
    with pytest.raises(InvalidRequest, match="exists already"):
        accounts.create_user("ann@example.com", "another password")


def test_vibegen_prices_are_the_default_and_rules_are_configurable(accounts):
    assert accounts.price("seedance 2.0", resolution="720p", seconds=5, audio=True) == 43
    assert accounts.price("seedance 2.0", size="1920x1080", seconds=10, audio=False) == 100
    assert accounts.price("local-title", size="320x180", seconds=1) == 0
    rules = read_prices([{"model": "local-*", "credits": 3}])
    assert Price("local-*", 3) == rules[0]
    with pytest.raises(ValueError, match="price rule 1"):
        read_prices([{"model": "x", "credit": 3}])


def test_reserve_then_refund_or_charge_exactly_once(any_accounts):
    accounts = any_accounts
    _, key_id = accounts.create_key(credits=50)
    with pytest.raises(InsufficientCredits, match="Required: 100, Available: 50"):
        accounts.reserve(key_id, "big", 100)
    accounts.reserve(key_id, "a", 30)
    accounts.reserve(key_id, "b", 20)
    assert accounts.credits(key_id) == 0
    assert accounts.settle("a", success=False)
    assert not accounts.settle("a", success=False)
    assert not accounts.settle("a", success=True)
    assert accounts.settle("b", success=True)
    assert accounts.credits(key_id) == 30
    assert (accounts.hold("a")["state"], accounts.hold("b")["state"]) == (REFUNDED, CHARGED)


def test_two_racing_completions_settle_one_hold_once(any_accounts):
    accounts = any_accounts
    _, key_id = accounts.create_key(credits=1000)
    for round_ in range(20):
        accounts.reserve(key_id, f"t{round_}", 10)
        start = threading.Barrier(2)
        won = []

        def finish(success: bool, start=start, won=won, task=f"t{round_}") -> None:
            start.wait()
            won.append((success, accounts.settle(task, success=success)))

        threads = [threading.Thread(target=finish, args=(s,)) for s in (False, False)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        assert sorted(w for _, w in won) == [False, True]
    assert accounts.credits(key_id) == 1000  # every hold refunded once, none twice


def test_rate_limit_counts_a_fixed_window_per_key_and_scope(any_accounts):
    accounts = any_accounts
    _, a = accounts.create_key()
    _, b = accounts.create_key()
    seen = [accounts.take(a, "create", 3, 3600).remaining for _ in range(3)]
    assert seen == [2, 1, 0]
    with pytest.raises(RateLimited) as e:
        accounts.take(a, "create", 3, 3600)
    assert e.value.window.headers()["X-RateLimit-Remaining"] == "0"
    assert 1 <= e.value.retry_after <= 3600
    assert accounts.take(b, "create", 3, 3600).remaining == 2  # another key
    assert accounts.take(a, "query", 3, 3600).remaining == 2  # another scope
    assert accounts.take(a, "create", None, 3600) is None  # unlimited
