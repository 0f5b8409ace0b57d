"""The VideoMatic API over plain HTTP, as its document describes it: templates, videos,
batches from CSV and XLSX, webhooks, errors, JWT and rate limits. Real renders at 320×180."""

from __future__ import annotations

import io
import json
import time
import urllib.error
import urllib.request
import uuid

import jwt
import numpy as np
import openpyxl
import pytest
from videomatic_harness import (
    colours,
    frame_of,
    max_overlap,
    near,
    publish_catalogue,
    verify_webhook,
    webhook_receiver,
)

import draftrender
from drafts import draft_file
from service_harness import Service
from template_drafts import product_template
from draftrender.server import ServerConfig
from draftrender.server.app import ACCOUNTS, STORE
from draftrender.service.schema import settings

BG = (0x33, 0x66, 0x99)


class Client:
    """Plain HTTP with a Bearer key, on a started Service."""

    def __init__(self, service, key: str | None):
        self.service, self.key = service, key

    def call(self, method: str, path: str, body=None, **kw):
        headers = kw.pop("headers", {})
        if self.key:
            headers["Authorization"] = f"Bearer {self.key}"
        return self.service.call(method, path, body, headers=headers, **kw)

    def upload(self, path: str, fields: dict[str, str], filename: str, content: bytes):
        return self.upload_files(path, fields, [("file", filename, content)])

    def upload_files(self, path: str, fields: dict[str, str], files: list[tuple[str, str, bytes]]):
        """POST multipart/form-data, as a browser form sends files: (part name, file name, bytes)."""
        boundary = uuid.uuid4().hex
        body = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                        for k, v in fields.items())
        for name, filename, content in files:
            body += (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"'
                     f"\r\n\r\n").encode() + content + b"\r\n"
        body += f"--{boundary}--\r\n".encode()
        request = urllib.request.Request(self.service.url + path, data=body, method="POST", headers={
            "Authorization": f"Bearer {self.key}", "Content-Type": f"multipart/form-data; boundary={boundary}"})
        try:
            with urllib.request.urlopen(request, timeout=60) as reply:
                return reply.status, json.loads(reply.read())
        except urllib.error.HTTPError as e:
            with e:
                return e.code, json.loads(e.read())

    def ok(self, method: str, path: str, body=None, status: int = 200) -> dict:
        reply = self.call(method, path, body)
        assert reply.status == status, reply.body
        return reply.json

    def wait_video(self, video_id: str, timeout: float = 60) -> dict:
        end = time.monotonic() + timeout
        while (video := self.ok("GET", f"/v1/videos/{video_id}"))["status"] not in ("completed", "failed"):
            assert time.monotonic() < end, video
            time.sleep(0.1)
        return video

    def wait_batch(self, batch_id: str, timeout: float = 240, every: float = 0.2) -> dict:
        end = time.monotonic() + timeout
        while (batch := self.ok("GET", f"/v1/videos/batch/{batch_id}"))["status"] != "completed":
            assert time.monotonic() < end, batch
            time.sleep(every)
        return batch


def new_key(service, plan: str = "starter", **kw) -> tuple[str, str]:
    return service.on_loop(lambda: service.app[ACCOUNTS].create_key(plan=plan, **kw))


@pytest.fixture
def shop(tmp_path, http_server):
    return publish_catalogue(http_server, tmp_path / "shop")


def error_of(reply, status: int, code: str, field=None) -> str:
    assert reply.status == status, reply.body
    err = reply.json["error"]
    assert (err["code"], err.get("field")) == (code, field), err
    return err["message"]


def test_templates(start_service, shop, tmp_path):
    service = start_service()
    client = Client(service, new_key(service)[0])
    made = client.ok("POST", "/v1/templates", {"name": "商品展示", "category": "ecommerce",
                                               "config": {"draft_url": shop.template_url}}, 201)
    assert made["id"].startswith("template_") and (made["width"], made["height"], made["duration"]) == (320, 180, 1.0)
    assert [(f["name"], f["type"], f["required"]) for f in made["fields"]] == [
        ("bg_color", "color", False), ("product_name", "text", True), ("price", "text", False),
        ("product_image", "image", False), ("zoom", "number", False)]
    assert client.ok("GET", f"/v1/templates/{made['id']}") == made

    still = service.call("GET", made["preview_url"][len(service.url):])  # an <img> sends no key
    assert still.status == 200 and still.headers["Content-Type"] == "image/png"
    (tmp_path / "still.png").write_bytes(still.body)
    from PIL import Image
    img = np.asarray(Image.open(tmp_path / "still.png").convert("RGB")).astype(int)
    assert near(img[90, 80], (128, 128, 128)) and near(img[5, 5], BG)  # its own medium and colour

    # The draft itself in the body, over the 64 KiB a gen_video request may have; media beside base_url.
    draft = json.loads(urllib.request.urlopen(shop.template_url).read())
    draft["notes"] = "x" * 300_000
    other = client.ok("POST", "/v1/templates", {"name": "b", "category": "food", "id": "food_v1", "config": {
        "draft": draft, "base_url": shop.template_url}}, 201)
    assert other["preview_url"] and other["source"] == "uploaded draft"
    assert other["id"] == "food_v1"
    assert [t["id"] for t in client.ok("GET", "/v1/templates?category=ecommerce")["templates"]] == [made["id"]]
    page = client.ok("GET", "/v1/templates?page=2&limit=1")
    assert (page["total"], page["page"], [t["id"] for t in page["templates"]]) == (2, 2, [made["id"]])
    stranger = Client(service, new_key(service)[0])
    assert stranger.ok("GET", "/v1/templates")["total"] == 0
    error_of(stranger.call("GET", f"/v1/templates/{made['id']}"), 404, "template_not_found")

    assert client.ok("DELETE", f"/v1/templates/{made['id']}") == {"id": made["id"], "deleted": True}
    error_of(client.call("GET", f"/v1/templates/{made['id']}"), 404, "template_not_found")
    error_of(client.call("POST", "/v1/templates", {"name": "x", "config": {}}), 400, "invalid_parameter", "config")
    error_of(client.call("POST", "/v1/templates", {"config": {"draft_url": shop.template_url}}), 400,
             "invalid_parameter", "name")
    error_of(client.call("POST", "/v1/templates", {"name": "x", "id": "food_v1",
                                                   "config": {"draft_url": shop.template_url}}),
             400, "invalid_parameter", "id")


def test_a_video_from_a_template(start_service, shop, tmp_path):
    service = start_service()
    client = Client(service, new_key(service)[0])
    template = client.ok("POST", "/v1/templates", {"name": "p", "config": {"draft_url": shop.template_url}}, 201)
    red = colours(20)[0]
    made = client.ok("POST", "/v1/videos", {"template_id": template["id"], "data": {
        "product_name": "iPhone 15 Pro", "price": 7999, "product_image": shop.image_urls[red], "bg_color": "#00ff00"},
        "options": {"resolution": "320x180", "format": "mp4", "quality": "high"}}, 201)
    assert set(made) == {"id", "status", "created_at", "estimated_time"} and made["status"] == "queued"
    assert isinstance(made["estimated_time"], int) and made["estimated_time"] >= 1

    video = client.wait_video(made["id"])
    assert video["status"] == "completed" and video["progress"] == 100, video
    assert video["duration"] == 1.0 and video["completed_at"] and video["created_at"] == made["created_at"]
    mp4 = service.call("GET", video["file_url"][len(service.url):])
    assert mp4.status == 200 and len(mp4.body) == video["file_size"]
    img = frame_of(mp4.body, tmp_path / "v.mp4")
    assert near(img[90, 80], red) and near(img[5, 5], (0, 255, 0))
    expected = draftrender.render_frame(shop.template_url, 0.5, data={
        "product_name": "iPhone 15 Pro", "price": 7999, "product_image": shop.image_urls[red], "bg_color": "#00ff00"})
    assert np.abs(img[40:140, 170:310] - expected[40:140, 170:310].astype(int)).mean() < 6  # the words
    assert overlap(words_of(img - (0, 255, 0) + BG), words_of(expected - np.array((0, 255, 0)) + BG)) > 0.7

    half = client.ok("POST", "/v1/videos", {"template_id": template["id"], "data": {"product_name": "x"},
                                            "options": {"resolution": "160x90"}}, 201)
    assert client.wait_video(half["id"])["status"] == "completed"
    small = service.call("GET", client.ok("GET", f"/v1/videos/{half['id']}")["file_url"][len(service.url):])
    assert frame_of(small.body, tmp_path / "s.mp4").shape == (90, 160, 3)

    post = lambda body: client.call("POST", "/v1/videos", {"template_id": template["id"], **body})  # noqa: E731
    assert "webm" in error_of(post({"data": {"product_name": "x"}, "options": {"format": "webm"}}), 400,
                              "invalid_parameter", "options.format")
    assert error_of(post({"data": {"product_name": "x", "zoom": "abc"}}), 400, "invalid_data", "zoom") == (
        "field 'zoom' must be a number such as 7999 or 9.99, not 'abc'")
    error_of(post({"data": {"price": 1}}), 400, "invalid_data", "product_name")
    error_of(post({"data": {"product_name": "x"}, "options": {"resolution": "100x100"}}), 400,
             "invalid_parameter", "options.resolution")
    assert error_of(client.call("POST", "/v1/videos", {"template_id": "", "data": {}}), 400, "invalid_parameter",
                    "template_id") == "template_id is required"
    assert client.call("POST", "/v1/videos", {"data": {}}).json["error"]["type"] == "invalid_request_error"  # OpenAI's
    error_of(client.call("POST", "/v1/videos", {"template_id": "nope", "data": {}}), 404, "template_not_found")
    error_of(client.call("GET", "/v1/videos/batch/batch_0000"), 404, "invalid_parameter")


def xlsx_of(rows: list[dict]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(rows[0]))
    for row in rows:
        sheet.append(list(row.values()))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def product_rows(shop, n: int = 20, bad: int = 7) -> list[dict]:
    rows = []
    for i, rgb in enumerate(colours(n), 1):
        rows.append({"product_name": f"Item {i}" + "!" * (i % 5), "price": 10 + i,
                     "product_image": shop.image_urls[rgb], "zoom": "abc" if i == bad else 0.5})
    return rows


def task_span(service, file_url: str) -> tuple[float, float]:
    """When the render task behind a video's file ran, from the service's store."""
    task_id = file_url.rsplit("/", 1)[1].removesuffix(".mp4")
    task = service.on_loop(lambda: service.app[STORE].get(task_id))
    return task.started, task.finished


def words_of(img) -> np.ndarray:
    """Where the text has ink: right half, far from the canvas colour."""
    return np.abs(np.asarray(img)[40:140, 170:310].astype(int) - BG).sum(axis=-1) > 120


def overlap(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


def check_batch(client, service, batch: dict, rows: list[dict], tmp_path, *, bad: int, words: bool) -> None:
    assert (batch["total"], batch["completed"], batch["failed"], batch["processing"], batch["progress"]) == (
        20, 19, 1, 0, 100)
    failed = [v for v in batch["videos"] if v["status"] == "failed"]
    assert [v["row"] for v in failed] == [bad]
    assert failed[0]["error"] == {
        "code": "invalid_data", "field": "zoom", "row": bad,
        "message": f"row {bad}: field 'zoom' must be a number such as 7999 or 9.99, not 'abc'"}
    spans = []
    for v in batch["videos"]:
        if v["status"] != "completed":
            continue
        video = client.ok("GET", f"/v1/videos/{v['id']}")
        spans.append(task_span(service, video["file_url"]))
        row = rows[v["row"] - 1]
        img = frame_of(service.call("GET", video["file_url"][len(service.url):]).body, tmp_path / f"{v['row']}.mp4")
        assert near(img[90, 80], colours(20)[v["row"] - 1]), v  # the row's own image
        if words:  # and its own words: ink where a render of this row has it, not where the next row's has
            ink = words_of(img)
            mine = words_of(draftrender.render_frame(client.template_url, 0.5, data=row))
            other = words_of(draftrender.render_frame(client.template_url, 0.5,
                                                      data={**rows[v["row"] % 20], "zoom": 0.5}))
            assert overlap(ink, mine) > 0.7 and overlap(ink, other) < overlap(ink, mine) - 0.1, v
    assert max_overlap(spans) <= 2


def test_batches_from_csv_and_xlsx(start_service, shop, http_server, tmp_path):
    service = start_service(workers=3)
    key, key_id = new_key(service, plan="starter")
    client = Client(service, key)
    client.template_url = shop.template_url
    hooks = webhook_receiver(http_server)
    template = client.ok("POST", "/v1/templates", {"name": "p", "config": {"draft_url": shop.template_url}}, 201)
    rows = product_rows(shop)
    csv_text = "product_name,price,product_image,zoom\n" + "".join(
        f"{r['product_name']},{r['price']},{r['product_image']},{r['zoom']}\n" for r in rows)
    csv_url = http_server.serve("/data/products.csv", csv_text.encode(), content_type="text/plain")

    made = client.ok("POST", "/v1/videos/batch", {
        "template_id": template["id"], "data_source": {"type": "url", "url": csv_url},
        "options": {"concurrent": 2}, "webhook_url": hooks.url}, 201)
    assert set(made) == {"batch_id", "total_count", "status", "created_at"}
    assert (made["total_count"], made["status"]) == (20, "processing")
    batch = client.wait_batch(made["batch_id"])
    check_batch(client, service, batch, rows, tmp_path, bad=7, words=True)

    # The same rows as an XLSX upload (multipart), told from CSV by its content, not its name.
    status, made_xlsx = client.upload("/v1/videos/batch", {"template_id": template["id"],
                                                           "options": json.dumps({"concurrent": 2})},
                                      "products.csv", xlsx_of(rows))
    assert status == 201, made_xlsx
    check_batch(client, service, client.wait_batch(made_xlsx["batch_id"]), rows, tmp_path, bad=7, words=False)

    # Webhooks of the first batch: every one signed with the key's secret, as the document verifies them.
    secret = service.on_loop(lambda: service.app[ACCOUNTS].key_info(key_id))["webhook_secret"]
    end = time.monotonic() + 30
    while not any(e == "batch.completed" for e, _ in hooks.events()):
        assert time.monotonic() < end, hooks.events()
        time.sleep(0.1)
    for hook in hooks.hooks:
        assert hook.headers["X-Videomatic-Event"] == hook.json["event"]
        assert verify_webhook(hook.body.decode(), hook.headers["X-Videomatic-Signature"], secret)
        assert not verify_webhook(hook.body.decode(), hook.headers["X-Videomatic-Signature"], "wrong")
    events = hooks.events()
    ids = [v["id"] for v in batch["videos"]]
    assert sorted(i for e, i in events if e == "video.created") == sorted(ids)
    assert sorted(i for e, i in events if e == "video.completed") == sorted(
        v["id"] for v in batch["videos"] if v["status"] == "completed")
    assert [i for e, i in events if e == "video.failed"] == [v["id"] for v in batch["videos"] if v["row"] == 7]
    for video_id in ids:
        mine = [e for e, i in events if i == video_id]
        assert mine[0] == "video.created" and mine[-1] in ("video.completed", "video.failed"), mine
    done = [h.json for h in hooks.hooks if h.json["event"] == "batch.completed"]
    assert len(done) == 1 and done[0]["data"]["batch_id"] == made["batch_id"]
    assert (done[0]["data"]["completed"], done[0]["data"]["failed"]) == (19, 1)
    completed = next(h.json for h in hooks.hooks if h.json["event"] == "video.completed")
    assert completed["data"]["file_url"].startswith(service.url + "/files/") and completed["timestamp"] > 0


def test_the_plan_caps_concurrency(start_service, shop):
    service = start_service(workers=3)
    client = Client(service, new_key(service, plan="free")[0])  # free: one render at a time
    template = client.ok("POST", "/v1/templates", {"name": "p", "config": {"draft_url": shop.template_url}}, 201)
    made = client.ok("POST", "/v1/videos/batch", {"template_id": template["id"], "options": {"concurrent": 3},
                                                  "data_source": {"type": "list", "items": [
                                                      {"product_name": str(i)} for i in range(3)]}}, 201)
    batch = client.wait_batch(made["batch_id"], every=1.0)  # a free key has 100 requests a day
    assert batch["completed"] == 3
    spans = []
    for v in batch["videos"]:
        spans.append(task_span(service, client.ok("GET", f"/v1/videos/{v['id']}")["file_url"]))
    assert max_overlap(spans) == 1


def test_jwt_login(start_service):
    service = start_service()
    accounts = service.app[ACCOUNTS]
    user_id = service.on_loop(lambda: accounts.create_user("shop@example.com", "correct horse", plan="starter"))
    new_key(service, user_id=user_id)
    anonymous = Client(service, None)
    error_of(anonymous.call("GET", "/v1/templates"), 401, "unauthorized")  # the service has keys
    reply = anonymous.call("POST", "/v1/auth/login", {"email": "shop@example.com", "password": "correct horse"})
    assert reply.status == 200, reply.body
    token = reply.json["token"]
    assert reply.json["token_type"] == "Bearer" and 0 < reply.json["expires_in"] <= 3600
    assert Client(service, token).ok("GET", "/v1/templates")["total"] == 0
    error_of(anonymous.call("POST", "/v1/auth/login", {"email": "shop@example.com", "password": "wrong"}), 401,
             "unauthorized")
    secret = service.on_loop(lambda: accounts.engine.connect().execute(
        settings.select().where(settings.c.name == "jwt_secret")).first().value)
    expired = jwt.encode({"sub": user_id, "exp": int(time.time()) - 10}, secret, algorithm="HS256")
    assert "expired" in error_of(Client(service, expired).call("GET", "/v1/templates"), 401, "unauthorized")
    error_of(Client(service, "sk-nope").call("GET", "/v1/templates"), 401, "unauthorized")


def test_rate_limits(start_service):
    service = start_service()
    client = Client(service, new_key(service, plan="free")[0])  # 100 requests a day
    for i in range(100):
        reply = client.call("GET", "/v1/templates")
        assert reply.status == 200 and reply.headers["X-RateLimit-Limit"] == "100"
        assert reply.headers["X-RateLimit-Remaining"] == str(99 - i)
    over = client.call("GET", "/v1/templates")
    assert over.status == 429
    err = over.json["error"]
    assert err["code"] == "rate_limit_exceeded" and 0 < err["retry_after"] <= 86400 and err["message"]
    assert over.headers["X-RateLimit-Remaining"] == "0" and over.headers["X-RateLimit-Limit"] == "100"
    assert int(over.headers["X-RateLimit-Reset"]) > time.time()


def test_templates_from_an_uploaded_folder_and_a_server_folder(start_service, tmp_path):
    """A draft folder uploaded with its media, or named on the server under a media root: the
    template's own medium is the image field's default, found like any draft folder's media."""
    folder = product_template(tmp_path / "designs")
    service = start_service(media_roots=[tmp_path / "designs"])
    client = Client(service, new_key(service)[0])
    status, uploaded = client.upload_files("/v1/templates", {"name": "up", "id": "uploaded_v1"}, [
        ("draft", "draft_content.json", draft_file(folder).read_bytes()),
        ("media", "media/placeholder.png", (folder / "media" / "placeholder.png").read_bytes())])
    assert status == 201, uploaded
    assert next(f for f in uploaded["fields"] if f["name"] == "product_image")["default"] == "media/placeholder.png"
    on_server = client.ok("POST", "/v1/templates", {"name": "here", "config": {"draft_path": str(folder)}}, 201)
    for template in (uploaded, on_server):
        made = client.ok("POST", "/v1/videos", {"template_id": template["id"], "data": {"product_name": "Tea"}}, 201)
        video = client.wait_video(made["id"])
        assert video["status"] == "completed", video
        img = frame_of(service.call("GET", video["file_url"][len(service.url):]).body, tmp_path / "v.mp4")
        assert near(img[90, 80], (128, 128, 128)) and near(img[5, 5], BG)

    status, bad = client.upload_files("/v1/templates", {"name": "x"}, [
        ("draft", "draft_content.json", draft_file(folder).read_bytes()), ("media", "../../etc/x.png", b"x")])
    assert (status, bad["error"]["code"], bad["error"]["field"]) == (400, "invalid_parameter", "media")
    outside = client.call("POST", "/v1/templates", {"name": "x", "config": {"draft_path": str(tmp_path)}})
    error_of(outside, 400, "invalid_parameter", "config.draft_path")


def test_a_batch_survives_a_restart(tmp_path, shop, start_service):
    """Stopped mid-batch: the next service on the same data dir finishes every row."""
    first = Service(ServerConfig(data_dir=tmp_path / "data", allow_private_urls=True, workers=1))
    try:
        key = new_key(first)[0]
        client = Client(first, key)
        template = client.ok("POST", "/v1/templates", {"name": "p", "config": {"draft_url": shop.template_url}}, 201)
        made = client.ok("POST", "/v1/videos/batch", {"template_id": template["id"], "options": {"concurrent": 1},
                                                      "data_source": {"type": "list", "items": [
                                                          {"product_name": f"R{i}"} for i in range(4)]}}, 201)
        assert client.ok("GET", f"/v1/videos/batch/{made['batch_id']}")["completed"] < 4
    finally:
        first.stop()
    again = start_service(workers=1)
    batch = Client(again, key).wait_batch(made["batch_id"])
    assert (batch["completed"], batch["failed"]) == (4, 0)


def test_a_multipart_batch_is_bounded_and_its_options_checked(start_service, shop):
    service = start_service(max_upload_bytes=4096)
    key, _ = new_key(service)
    client = Client(service, key)
    template = client.ok("POST", "/v1/templates", {"name": "shop", "config": {"draft_url": shop.template_url}}, 201)
    status, reply = client.upload("/v1/videos/batch", {"template_id": template["id"]},
                                  "rows.csv", b"title\n" + b"x" * 8192 + b"\n")
    assert status == 413 and reply["error"]["code"] == "invalid_parameter", reply
    assert "4096 bytes" in reply["error"]["message"]
    status, reply = client.upload("/v1/videos/batch", {"template_id": template["id"], "options": "{"},
                                  "rows.csv", b"title\nA\n")
    assert status == 400 and reply["error"]["field"] == "options", reply
