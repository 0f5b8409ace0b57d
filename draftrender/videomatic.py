"""A Python SDK for the VideoMatic API, with the document's surface (stdlib HTTP, tenacity retries).

    from draftrender.videomatic import VideoMatic

    client = VideoMatic(api_key="KEY", base_url="http://127.0.0.1:8000/v1")
    video = client.videos.create(template_id="template_abc123", data={"product_name": "iPhone 15 Pro"})
    video.wait_until_completed()
    video.download("out.mp4")

    batch = client.videos.batch_create(template_id="template_abc123", data_source="https://…/products.csv")
    for progress in batch.watch_progress():
        print(progress["completed"], "/", progress["total"])

Requests answered 429 or 5xx, and failed connections, are tried again with exponential
backoff. Errors raise VideoMaticError with the document's code, message and field.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import mimetypes
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

DEFAULT_BASE_URL = "https://api.videomatic.com/v1"
POLL_INTERVAL = 2.0  # seconds between polls while waiting, unless the client is given another
FINISHED = ("completed", "failed")


class VideoMaticError(Exception):
    """An error answer: `status` (HTTP), `code` (invalid_parameter, unauthorized, …), `field`."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None,
                 retry_after: int | None = None):
        super().__init__(f"{code}: {message}" + (f" (field {field})" if field else ""))
        self.status, self.code, self.message, self.field, self.retry_after = status, code, message, field, retry_after


def _retryable(e: BaseException) -> bool:
    if isinstance(e, VideoMaticError):
        return e.status == 429 or e.status >= 500
    return isinstance(e, (urllib.error.URLError, ConnectionError, TimeoutError))


def _jsonable(value: Any) -> Any:
    """Plain JSON values from what a DataFrame's records hold: numpy scalars, NaN, timestamps."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item") and callable(value.item) and not isinstance(value, (str, bytes)):
        try:
            return _jsonable(value.item())  # numpy scalar
        except (TypeError, ValueError):
            pass
    if isinstance(value, (_dt.date, _dt.datetime)) or hasattr(value, "isoformat"):
        return value.isoformat()
    return value


class VideoMatic:
    def __init__(self, api_key: str | None = None, *, base_url: str = DEFAULT_BASE_URL, timeout: float = 60.0,
                 max_retries: int = 3, poll_interval: float | None = None):
        self.api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_retries = max_retries
        self.poll_interval = poll_interval or POLL_INTERVAL
        self.videos = Videos(self)
        self.templates = Templates(self)

    def login(self, email: str, password: str) -> str:
        """Log in with a user's email and password; later calls use the JWT token."""
        self.api_key = self.request("POST", "/auth/login", {"email": email, "password": password})["token"]
        return self.api_key

    def request(self, method: str, path: str, body: Any = None, *, query: dict | None = None,
                files: dict[str, tuple[str, bytes]] | None = None, fields: dict[str, str] | None = None) -> Any:
        url = self.base_url + path
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        headers = {"Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        if files is not None:
            data, headers["Content-Type"] = _multipart(fields or {}, files)
        elif body is not None:
            data = json.dumps(_jsonable(body), ensure_ascii=False).encode()
            headers["Content-Type"] = "application/json"
        else:
            data = None
        for attempt in Retrying(stop=stop_after_attempt(self.max_retries), reraise=True,
                                retry=retry_if_exception(_retryable), wait=wait_exponential(multiplier=0.5, max=8)):
            with attempt:
                return self._send(urllib.request.Request(url, data=data, method=method, headers=headers))

    def _send(self, req: urllib.request.Request) -> Any:
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as e:
            with e:
                raw = e.read()
            try:
                err = json.loads(raw)["error"]
            except (ValueError, KeyError, TypeError):
                err = {"code": "http_error", "message": f"HTTP {e.code}: {raw[:200].decode(errors='replace')}"}
            raise VideoMaticError(e.code, err.get("code", "error"), err.get("message", ""), err.get("field"),
                                  err.get("retry_after")) from None
        return json.loads(raw) if raw else None

    def download(self, url: str, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_name(f".{path.name}.part")
        # No key: file URLs are unguessable, and a presigned bucket URL refuses a second credential.
        with urllib.request.urlopen(url, timeout=self.timeout) as resp, open(part, "wb") as out:
            while chunk := resp.read(1 << 20):
                out.write(chunk)
        part.replace(path)
        return path


def _multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = "videomatic-" + secrets.token_hex(12)
    out = bytearray()
    for name, value in fields.items():
        out += (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n').encode()
    for name, (filename, content) in files.items():
        kind = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        out += (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                f"Content-Type: {kind}\r\n\r\n").encode() + content + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


class Video:
    """A video: `.id`, `.status`, `.file_url`, `.progress`, … as GET /videos/:id answers."""

    def __init__(self, client: VideoMatic, doc: dict):
        self._client = client
        self._update(doc)

    def _update(self, doc: dict) -> None:
        self.data = doc
        self.id: str = doc["id"]
        self.status: str = doc.get("status", "queued")
        self.progress = doc.get("progress", 0)
        self.file_url: str | None = doc.get("file_url")
        self.duration = doc.get("duration")
        self.file_size = doc.get("file_size")
        self.created_at = doc.get("created_at")
        self.completed_at = doc.get("completed_at")
        self.estimated_time = doc.get("estimated_time", getattr(self, "estimated_time", None))
        self.error: dict | None = doc.get("error")

    def refresh(self) -> Video:
        self._update(self._client.request("GET", f"/videos/{self.id}"))
        return self

    def wait_until_completed(self, timeout: float | None = None, poll_interval: float | None = None) -> Video:
        """Poll until the video is completed; VideoMaticError (render_failed, …) if it failed."""
        end = None if timeout is None else time.monotonic() + timeout
        while self.refresh().status not in FINISHED:
            if end is not None and time.monotonic() > end:
                raise TimeoutError(f"video {self.id} is still {self.status} after {timeout} s")
            time.sleep(poll_interval or self._client.poll_interval)
        if self.status == "failed":
            err = self.error or {}
            raise VideoMaticError(500, err.get("code", "render_failed"), err.get("message", "the render failed"),
                                  err.get("field"))
        return self

    def download(self, path: str | Path) -> Path:
        if not self.file_url:
            self.refresh()
        if not self.file_url:
            raise VideoMaticError(400, "invalid_parameter", f"video {self.id} is {self.status}: no file yet")
        return self._client.download(self.file_url, path)

    def __repr__(self) -> str:
        return f"<Video {self.id} {self.status}>"


class Batch:
    """A batch: `.id`, `.total`, `.status`; progress as GET /videos/batch/:id answers."""

    def __init__(self, client: VideoMatic, doc: dict):
        self._client = client
        self.id: str = doc["batch_id"]
        self.total: int = doc.get("total_count", doc.get("total", 0))
        self.status: str = doc.get("status", "processing")
        self.created_at = doc.get("created_at")
        self.progress: dict = doc

    def refresh(self) -> dict:
        self.progress = self._client.request("GET", f"/videos/batch/{self.id}")
        self.status, self.total = self.progress["status"], self.progress["total"]
        return self.progress

    def watch_progress(self, poll_interval: float | None = None) -> Iterator[dict]:
        """Yield the batch's progress ({total, completed, failed, processing, progress, videos})
        whenever it changes, until every video has finished."""
        last = None
        while True:
            progress = self.refresh()
            now = (progress["completed"], progress["failed"], progress["processing"])
            if now != last:
                last = now
                yield progress
            if self.status == "completed":
                return
            time.sleep(poll_interval or self._client.poll_interval)

    def wait_until_completed(self, timeout: float | None = None) -> dict:
        end = None if timeout is None else time.monotonic() + timeout
        for _ in self.watch_progress():
            if end is not None and time.monotonic() > end and self.status != "completed":
                raise TimeoutError(f"batch {self.id} is still running after {timeout} s")
        return self.progress

    def get_completed_videos(self) -> list[Video]:
        videos = self.refresh()["videos"]
        return [self._client.videos.get(v["id"]) for v in videos if v["status"] == "completed"]

    def __repr__(self) -> str:
        return f"<Batch {self.id} {self.status} {self.total} videos>"


class Videos:
    def __init__(self, client: VideoMatic):
        self._client = client

    def create(self, template_id: str, data: dict | None = None, options: dict | None = None,
               webhook_url: str | None = None) -> Video:
        body = {"template_id": template_id, "data": data or {}, "options": options, "webhook_url": webhook_url}
        return Video(self._client, self._client.request("POST", "/videos", {k: v for k, v in body.items()
                                                                             if v is not None}))

    def get(self, video_id: str) -> Video:
        return Video(self._client, self._client.request("GET", f"/videos/{video_id}"))

    def batch_create(self, template_id: str, data_source: str | list | dict | Path | None = None, *,
                     data: list[dict] | None = None, webhook_url: str | None = None,
                     concurrent: int | None = None, options: dict | None = None) -> Batch:
        """Many videos from one table: `data_source` is a URL (CSV, JSON or XLSX), a local file
        (uploaded), or a list of dicts; `data` is a list of dicts (e.g. a DataFrame's records)."""
        options = dict(options or {})
        if concurrent is not None:
            options["concurrent"] = concurrent
        source = data if data is not None else data_source
        if isinstance(source, (str, Path)) and not str(source).lower().startswith(("http://", "https://")):
            path = Path(source)
            fields = {"template_id": template_id, "options": json.dumps(options)}
            if webhook_url:
                fields["webhook_url"] = webhook_url
            doc = self._client.request("POST", "/videos/batch", files={"file": (path.name, path.read_bytes())},
                                       fields=fields)
            return Batch(self._client, doc)
        if isinstance(source, str):
            source = {"type": "url", "url": source}
        elif isinstance(source, list):
            source = {"type": "list", "items": source}
        body = {"template_id": template_id, "data_source": source, "options": options or None,
                "webhook_url": webhook_url}
        return Batch(self._client, self._client.request("POST", "/videos/batch",
                                                        {k: v for k, v in body.items() if v is not None}))

    def get_batch(self, batch_id: str) -> Batch:
        batch = Batch(self._client, {"batch_id": batch_id})
        batch.refresh()
        return batch


class Templates:
    def __init__(self, client: VideoMatic):
        self._client = client

    def list(self, category: str | None = None, page: int = 1, limit: int = 20) -> list[dict]:
        return self._client.request("GET", "/templates", query={"category": category, "page": page,
                                                                 "limit": limit})["templates"]

    def get(self, template_id: str) -> dict:
        return self._client.request("GET", f"/templates/{template_id}")

    def create(self, name: str, category: str = "general", config: dict | None = None,
               id: str | None = None) -> dict:
        body = {"name": name, "category": category, "config": config or {}}
        if id is not None:
            body["id"] = id
        return self._client.request("POST", "/templates", body)

    def delete(self, template_id: str) -> dict:
        return self._client.request("DELETE", f"/templates/{template_id}")
