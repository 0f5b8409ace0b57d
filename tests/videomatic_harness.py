"""The VideoMatic API under test: a product template published on loopback, product images in
distinct colours, a webhook receiver, and the document's own verify_webhook.

The template (template_drafts.product_template) is 320×180: the image field at x 80, the
name and price on the right half, the canvas colour around them.
"""

from __future__ import annotations

import colorsys
import hashlib
import hmac
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np
from aiohttp import web
from drafts import draft_file
from media_factory import make_image
from template_drafts import product_template


# From the document, section 四 (验证签名), as written.
def verify_webhook(payload, signature, secret):
    """验证Webhook签名"""
    expected = hmac.new(
        secret.encode(),
        payload.encode(),
        hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(
        f"sha256={expected}",
        signature
    )


def colours(n: int) -> list[tuple[int, int, int]]:
    """n saturated colours, far from each other and from the template's blue-grey canvas."""
    out = []
    for i in range(n):
        r, g, b = colorsys.hsv_to_rgb((i / n + 0.02) % 1.0, 0.9, 0.95)
        out.append((round(r * 255), round(g * 255), round(b * 255)))
    return out


@dataclass
class Catalogue:
    """The template's draft URL and an image URL per colour, all served on loopback."""

    template_url: str
    image_urls: dict[tuple[int, int, int], str]


def publish_catalogue(server, root: Path, n_colours: int = 20, prefix: str = "/shop") -> Catalogue:
    folder = product_template(root)
    url = server.serve(f"{prefix}/tpl/draft_content.json", draft_file(folder).read_bytes(),
                       content_type="application/json")
    server.serve(f"{prefix}/tpl/media/placeholder.png", (folder / "media" / "placeholder.png").read_bytes(),
                 content_type="image/png")
    images = {}
    for i, rgb in enumerate(colours(n_colours)):
        png = make_image(root / "images" / f"{i}.png", (100, 100), rgb)
        images[rgb] = server.serve(f"{prefix}/img/{i}.png", png.read_bytes(), content_type="image/png")
    return Catalogue(url, images)


@dataclass
class Hook:
    headers: dict
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Records every webhook POSTed to its URL, raw."""

    url: str
    hooks: list[Hook] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def events(self) -> list[tuple[str, str]]:
        with self.lock:
            return [(h.json["event"], h.json["data"].get("id") or h.json["data"].get("batch_id")) for h in self.hooks]


def webhook_receiver(server, path: str = "/hooks") -> Receiver:
    receiver = Receiver(server.url(path))

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        with receiver.lock:
            receiver.hooks.append(Hook(dict(request.headers), body))
        return web.Response(text="ok")

    server.route(path, receive)
    return receiver


def frame_of(mp4: bytes, tmp: Path, index: int = 15) -> np.ndarray:
    """Frame `index` of an MP4, RGB as int."""
    tmp.write_bytes(mp4)
    with av.open(str(tmp)) as c:
        for i, frame in enumerate(c.decode(video=0)):
            if i == index:
                return frame.to_ndarray(format="rgb24").astype(int)
    raise AssertionError(f"{tmp} has fewer than {index + 1} frames")


def near(pixel, rgb, tol: int = 20) -> bool:
    return bool(np.all(np.abs(np.asarray(pixel) - rgb) <= tol))


def max_overlap(spans: list[tuple[float, float]]) -> int:
    """The most spans (start, end) open at one moment."""
    edges = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans], key=lambda x: (x[0], x[1]))
    most = now = 0
    for _, step in edges:
        now += step
        most = max(most, now)
    return most
