"""A small synchronous client for the gen_video service (stdlib only).

    client = GenVideoClient("http://127.0.0.1:8000", api_key=None)
    result = client.gen_video("https://…/draft_content.json")   # waits; result["video_url"]

Errors come back as the draftrender.errors class the service raised (DraftNotFound,
MaterialUnreachable, RenderTimeout, ...), with `.status`, `.detail` and the English message.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

from . import errors
from .errors import DraftRenderError

# Each call may wait this long on the server; the client polls again until it is done.
SERVER_WAIT = 60.0


class GenVideoClient:
    def __init__(self, base_url: str, api_key: str | None = None, *, timeout: float = 30.0):
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout  # seconds for a reply, on top of what the server is asked to wait

    def gen_video(self, draft_url: str, wait: bool | float = True, options: dict | None = None) -> dict:
        """Render a draft. wait=True: until the video is ready, returning the 200 body
        (video_url, task_id, duration, width, height, fidelity, ...). wait=False or a number
        of seconds: one call, returning the 200 body or the 202 one ("status", "progress")."""
        body: dict = {"draft_url": draft_url}
        if options:
            body["options"] = options
        if wait is not True:
            body["wait"] = 0.0 if wait is False else float(wait)
            return self._call("POST", "/v1/gen_video", body)
        body["wait"] = SERVER_WAIT
        while True:
            # Each call joins the same task: the server renders once, however often we ask.
            answer = self._call("POST", "/v1/gen_video", body)
            if answer.get("video_url"):
                return answer

    def task(self, task_id: str) -> dict:
        return self._call("GET", f"/v1/gen_video/{urllib.parse.quote(task_id)}")

    def status(self, draft_url: str) -> dict:
        return self._call("GET", "/v1/gen_video_status?" + urllib.parse.urlencode({"draft_url": draft_url}))

    def tasks(self, status: str | None = None, limit: int = 20, offset: int = 0) -> dict:
        query = {"limit": limit, "offset": offset, **({"status": status} if status else {})}
        return self._call("GET", "/v1/gen_video?" + urllib.parse.urlencode(query))

    def delete(self, task_id: str) -> dict:
        return self._call("DELETE", f"/v1/gen_video/{urllib.parse.quote(task_id)}")

    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        data = None if body is None else json.dumps(body).encode("utf-8")
        req = urllib.request.Request(self.base_url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if self.api_key:
            req.add_header("Authorization", f"Bearer {self.api_key}")
        timeout = self.timeout + (body or {}).get("wait", 0)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as e:
            with e:
                raise service_error(e.code, _json_or_none(e.read()), e.headers.get("Retry-After")) from None
        except urllib.error.URLError as e:
            raise ConnectionError(f"cannot reach the gen_video service at {self.base_url}: {e.reason}") from None


def service_error(status: int, body: dict | None, retry_after: str | None = None) -> DraftRenderError:
    """The draftrender error for an error answer: by class name, else by status and detail."""
    body = body if isinstance(body, dict) else {}
    detail, message = body.get("detail"), body.get("message") or body.get("detail") or f"HTTP {status}"
    known = {c.__name__: c for c in _subclasses(DraftRenderError)}
    cls = known.get(body.get("error", ""))
    if cls is None or cls.status != status:
        cls = next((c for c in known.values() if (c.status, c.detail) == (status, detail)), None)
    error = (cls or DraftRenderError)(message)
    if cls is None:  # an answer this client does not know: keep what the service said
        error.status, error.detail = status, detail or f"HTTP {status}"
    error.task_id = body.get("task_id")
    if retry_after is not None and retry_after.isdigit():
        error.retry_after = int(retry_after)
    return error


def _subclasses(cls: type[DraftRenderError]) -> list[type[DraftRenderError]]:
    found: list[type[DraftRenderError]] = []
    for sub in cls.__subclasses__():
        if sub.__module__ == errors.__name__:
            found.append(sub)
        found += _subclasses(sub)
    return found


def _json_or_none(raw: bytes):
    try:
        return json.loads(raw)
    except ValueError:
        return None
