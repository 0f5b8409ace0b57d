"""`draftrender keys`, run as an operator runs it, on the data dir a service then serves."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def keys(data_dir: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "draftrender", "keys", "--data-dir", str(data_dir), *args],
                          input=stdin, capture_output=True, text=True, encoding="utf-8", timeout=60)


def test_keys_and_users_for_the_service(tmp_path, start_service):
    data = tmp_path / "data"
    made = keys(data, "create", "--plan", "starter", "--name", "shop", "--webhook-secret", "s3cret")
    assert made.returncode == 0, made.stderr
    key_id, key = made.stdout.split()
    assert key_id.startswith("key_") and key.startswith("sk-") and "shown only now" in made.stderr
    listed = keys(data, "list").stdout
    assert key_id in listed and "starter" in listed and key not in listed
    shown = json.loads(keys(data, "show", key_id).stdout)
    assert (shown["plan"], shown["webhook_secret"], shown["name"]) == ("starter", "s3cret", "shop")
    assert keys(data, "set", key_id, "--plan", "pro").returncode == 0
    assert json.loads(keys(data, "show", key_id).stdout)["plan"] == "pro"
    user = keys(data, "add-user", "ops@example.com", stdin="a long password\n")
    assert user.returncode == 0 and user.stdout.split()[1] == "ops@example.com"

    bad = keys(data, "create", "--plan", "gold")
    assert bad.returncode == 1 and bad.stderr.startswith("draftrender: error: unknown plan 'gold'")
    assert keys(data, "set", "key_nope", "--plan", "pro").stderr.strip() == (
        "draftrender: error: no key key_nope: see draftrender keys list")

    service = start_service(data_dir=data)
    auth = {"Authorization": f"Bearer {key}"}
    reply = service.call("GET", "/v1/templates", headers=dict(auth))
    assert reply.status == 200 and reply.headers["X-RateLimit-Limit"] == "10000"  # pro
    login = service.call("POST", "/v1/auth/login", {"email": "ops@example.com", "password": "a long password"})
    assert login.status == 200 and login.json["token"]
    assert keys(data, "create").returncode == 0  # another key: the service still needs one
    assert keys(data, "revoke", key_id).returncode == 0
    revoked = service.call("GET", "/v1/templates", headers=dict(auth))
    assert revoked.status == 401 and revoked.json["error"]["code"] == "unauthorized"
