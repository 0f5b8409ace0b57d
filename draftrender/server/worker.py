"""What runs inside a render worker process: one task, from saved draft to MP4.

The worker talks to the service over one socket pair: it sends ("progress", stage, done,
total) events and then ("done", result) or ("error", error). When the service goes away
(killed, crashed) the socket closes and the worker exits at once, so no render outlives it.
"""

from __future__ import annotations

import json
import math
import os
import signal
import threading
from pathlib import Path

from ..assets import prepare_media
from ..errors import DraftRenderError, InvalidRequest, RenderFailed
from ..render.pipeline import RenderOptions, output_geometry, render_timeline, with_options
from ..timeline import parse
from ..timeline.model import Timeline


def run(conn, job: dict) -> None:
    """Entry point of a worker process; `job` is plain data (see RenderPool.job)."""
    # Ctrl-C in the terminal reaches the whole process group: the service decides what
    # happens to its workers, not the signal.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_service, args=(conn,), daemon=True).start()
    try:
        result = render_job(job, lambda e: conn.send(("progress", e["stage"], e["done"], e["total"])))
        conn.send(("done", result))
    except DraftRenderError as e:
        conn.send(("error", error_json(e)))
    except BaseException as e:  # noqa: BLE001 - the service reports it; the worker only ends
        conn.send(("error", error_json(RenderFailed(f"the render worker failed: {type(e).__name__}: {e}"))))
    finally:
        conn.close()


def render_job(job: dict, progress) -> dict:
    tl, opts = prepare_job(job, progress)
    return render_timeline(tl, Path(job["output"]), opts).to_json()


def prepare_job(job: dict, progress) -> tuple[Timeline, RenderOptions]:
    """The job's timeline, its media fetched, and the options to render it with."""
    progress({"stage": "parse", "done": 0, "total": 1})
    data = json.loads(Path(job["draft"]).read_text(encoding="utf-8"))
    tl = parse(data, draft_dir=None, origin=job["origin"], base_url=job["base_url"],
               media_roots=tuple(Path(r) for r in job["media_roots"]))
    progress({"stage": "parse", "done": 1, "total": 1})
    check_output_size(tl, job["options"], job["max_output_pixels"])
    cache = Path(job["cache_dir"])
    # Fetched here first so the media cap applies; the render below finds them cached.
    prepare_media(tl, cache_dir=cache, max_bytes=job["max_media_bytes"], deadline=job["media_timeout"],
                  max_cache_bytes=job["max_cache_bytes"],
                  allow_private_urls=job["allow_private_urls"],
                  progress=lambda done, total: progress({"stage": "download", "done": done, "total": total}))
    opts = with_options(**job["options"], cache_dir=cache, allow_private_urls=job["allow_private_urls"],
                        progress=progress)
    return tl, opts


def check_output_size(tl: Timeline, options: dict, max_pixels: int) -> None:
    """InvalidRequest when the video would be larger than the service renders: a frame's
    buffers grow with its area, and so does a worker's memory."""
    width, height, _ = output_geometry(tl, with_options(**options))
    if width * height > max_pixels:
        fit = math.floor(100 * math.sqrt(max_pixels / (tl.canvas.width * tl.canvas.height))) / 100
        raise InvalidRequest(
            f"the video would be {width}×{height} ({width * height / 1e6:.1f} megapixels), over this service's "
            f"{max_pixels / 1e6:.1f}-megapixel cap (--max-output-pixels); ask for options.scale ≤ {fit:.2f}")


def error_json(e: DraftRenderError) -> dict:
    return {"status": e.status, **e.to_json()}


def _exit_with_service(conn) -> None:
    # The service never writes to this socket; reading it returns only when it closes.
    try:
        conn.recv()
    except (EOFError, OSError):
        pass
    os._exit(1)
