"""The local provider: clips made offline by draftrender's own engine, byte-identical for the same request.

Owns: the two local models (local-kenburns, local-title), their canvas and length defaults,
the job folder (request.json, then progress, video.mp4, thumbnail.jpg, spritesheet.jpg, or
error.json), and running each job in a process of its own (local_job.py). A job folder is named
by the request's hash, so the same request is the same job, and a job whose process died with
its parent restarts from its folder.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from PIL import Image, ImageOps
from PIL.Image import Resampling

from ..assets.fetch import cache_path
from ..http import FetchFailed, fetch_to_file, run_sync
from ..options import EncodeSettings
from ..render.pipeline import RenderOptions, render_still, render_timeline
from ..timeline import Timeline, parse
from . import scenes
from .base import (
    GenerationRequest,
    InvalidGeneration,
    Job,
    JobStatus,
    ProviderError,
    UnknownModel,
    Variant,
    is_url,
)

MODELS = ("local-kenburns", "local-title")
DEFAULT_SECONDS = 5.0
DEFAULT_SIZE = (1280, 720)
MAX_SIDE = 3840
# What the resolution names mean: the short side in pixels.
RESOLUTIONS = {"360p": 360, "480p": 480, "540p": 540, "720p": 720, "1080p": 1080, "1440p": 1440, "2160p": 2160}
# One encoder thread: the same bytes on every run and machine. With two slice threads, x264's
# output varied from run to run on a loaded machine (see EncodeSettings.threads).
ENCODE = EncodeSettings(preset="veryfast", crf=20, threads=1)
SPRITES = (5, 2)  # the spritesheet's columns and rows, frames evenly spread over the clip
SPRITE_WIDTH = 160
FILES: dict[Variant, str] = {"video": "video.mp4", "thumbnail": "thumbnail.jpg", "spritesheet": "spritesheet.jpg"}


def canvas_for(request: GenerationRequest) -> tuple[int, int]:
    """The clip's size: `size`, else `resolution` (the short side) at `aspect_ratio` (16:9 unless given)."""
    if request.size:
        w, h = request.dimensions() or DEFAULT_SIZE
    elif request.resolution or request.aspect_ratio:
        short = RESOLUTIONS.get((request.resolution or "720p").lower())
        if short is None:
            raise InvalidGeneration(f"resolution {request.resolution!r} is not one of {', '.join(RESOLUTIONS)}",
                                    code="invalid_resolution")
        try:
            a, b = (float(v) for v in (request.aspect_ratio or "16:9").split(":"))
            ratio = a / b
        except ValueError:
            raise InvalidGeneration(f"aspect_ratio {request.aspect_ratio!r} must be W:H, like 16:9",
                                    code="invalid_aspect_ratio") from None
        w, h = (round(short * ratio), short) if ratio >= 1 else (short, round(short / ratio))
    else:
        w, h = DEFAULT_SIZE
    if not (16 <= w <= MAX_SIDE and 16 <= h <= MAX_SIDE):
        raise InvalidGeneration(f"size {w}x{h} must be between 16 and {MAX_SIDE} pixels a side", code="invalid_size")
    return w - w % 2, h - h % 2


def check(request: GenerationRequest) -> None:
    """Refuse what the local models cannot make, before any work starts."""
    if request.model not in MODELS:
        raise UnknownModel(f"the local provider has no model {request.model!r} (it has {', '.join(MODELS)})",
                           code="unknown_model")
    canvas_for(request)
    if request.model == "local-kenburns" and not request.images:
        raise InvalidGeneration("local-kenburns needs at least one image (--image PATH|URL)", code="missing_image")
    if request.model == "local-title" and not request.prompt.strip():
        raise InvalidGeneration("local-title needs a prompt: the title it shows", code="missing_prompt")
    for image in request.images:
        if not is_url(image) and not Path(image).is_file():
            raise InvalidGeneration(f"image {image} does not exist", code="image_not_found")


# ---------------------------------------------------------------- making one clip


def make_clip(request: GenerationRequest, folder: Path, cache_dir: Path,
              progress: Callable[[int], None] = lambda p: None) -> None:
    """Render the request's video, thumbnail and spritesheet into `folder` (files appear complete)."""
    check(request)
    canvas = canvas_for(request)
    seconds = request.seconds or DEFAULT_SECONDS
    seed = request.seed or 0
    work = folder / "work"
    work.mkdir(parents=True, exist_ok=True)
    if request.model == "local-kenburns":
        photos = [_photo(image, cache_dir) for image in request.images]
        draft = scenes.ken_burns_draft(photos, canvas, seconds, seed)
    else:
        background = work / "gradient.png"
        scenes.gradient(random.Random(seed), scenes.background_size(canvas)).save(background)
        draft = scenes.title_draft(request.prompt, background, canvas, seconds, seed)
    tl = parse(draft, draft_dir=work, origin=f"{request.model} clip")

    def on_render(event: dict) -> None:
        if event["stage"] == "render" and event["total"]:
            progress(min(95, 5 + 90 * event["done"] // event["total"]))

    opts = RenderOptions(encode=ENCODE, cache_dir=cache_dir, audio=request.audio, progress=on_render)
    render_timeline(tl, folder / FILES["video"], opts)
    _stills(tl, folder, opts)
    shutil.rmtree(work, ignore_errors=True)


def _photo(image: str, cache_dir: Path) -> tuple[Path, tuple[int, int]]:
    """A local copy of the image and its size as shown (EXIF rotation applied)."""
    path = Path(image)
    if is_url(image):
        path = cache_path(cache_dir, image)
        if not path.is_file():
            try:
                run_sync(lambda: fetch_to_file(image, path))
            except FetchFailed as e:
                raise InvalidGeneration(f"image {image} cannot be fetched: {e.reason}",
                                        code="image_unreachable") from None
    try:
        with Image.open(path) as im:
            return path, ImageOps.exif_transpose(im).size
    except OSError as e:
        raise InvalidGeneration(f"image {image} cannot be read: {e}", code="invalid_image") from None


def _stills(tl: Timeline, folder: Path, opts: RenderOptions) -> None:
    """The thumbnail (the middle frame) and the spritesheet, as JPEG."""
    seconds = tl.duration / 1e6
    middle = render_still(tl, seconds / 2, None, opts)
    _save_jpeg(Image.fromarray(middle), folder / FILES["thumbnail"])
    cols, rows = SPRITES
    h, w = middle.shape[:2]
    tile = (SPRITE_WIDTH, max(2, round(SPRITE_WIDTH * h / w)))
    sheet = Image.new("RGB", (tile[0] * cols, tile[1] * rows))
    for i in range(cols * rows):
        frame = Image.fromarray(render_still(tl, seconds * (i + 0.5) / (cols * rows), None, opts))
        sheet.paste(frame.resize(tile, Resampling.LANCZOS), ((i % cols) * tile[0], (i // cols) * tile[1]))
    _save_jpeg(sheet, folder / FILES["spritesheet"])


def _save_jpeg(image: Image.Image, path: Path) -> None:
    part = path.with_name(f".{path.name}.part")
    image.save(part, format="JPEG", quality=85)
    os.replace(part, path)


# ---------------------------------------------------------------- the provider


class LocalProvider:
    """Offline generation with no keys. Job ids are `local-` and the request's hash; each job
    renders in a process of its own (local_job.py)."""

    def __init__(self, workdir: Path, cache_dir: Path | None = None, name: str = "local"):
        self.name = name
        self.workdir = Path(workdir)
        self.cache_dir = Path(cache_dir) if cache_dir else self.workdir / "media"
        self._runs: dict[str, subprocess.Popen] = {}
        self._lock = threading.Lock()

    def _folder(self, job_id: str) -> Path:
        if not job_id.startswith("local-") or not job_id[6:].isalnum():
            raise ProviderError(f"no local job {job_id!r}", code="not_found", http_status=404)
        return self.workdir / job_id

    async def submit(self, request: GenerationRequest) -> Job:
        check(request)
        job_id = "local-" + request.digest()[:32]
        folder = self._folder(job_id)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "error.json").unlink(missing_ok=True)  # a new submit of a failed request tries again
        part = folder / ".request.json.part"
        part.write_text(request.model_dump_json(), encoding="utf-8")
        os.replace(part, folder / "request.json")
        self._start(job_id)
        return await self.poll(job_id)

    def _start(self, job_id: str) -> None:
        folder = self._folder(job_id)
        with self._lock:
            running = self._runs.get(job_id)
            if (running is not None and running.poll() is None) or (folder / FILES["spritesheet"]).exists():
                return
            (folder / "progress").unlink(missing_ok=True)
            with open(folder / "log.txt", "wb") as log:
                self._runs[job_id] = subprocess.Popen(
                    [sys.executable, "-m", "draftrender.generate.local_job", str(folder), str(self.cache_dir)],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=log)

    async def poll(self, job_id: str) -> Job:
        folder = self._folder(job_id)
        request_file = folder / "request.json"
        if not request_file.exists():
            raise ProviderError(f"no local job {job_id!r}", code="not_found", http_status=404)
        request = GenerationRequest.model_validate_json(request_file.read_text(encoding="utf-8"))
        job = Job(id=job_id, provider=self.name, model=request.model, created_at=_mtime(request_file))
        error, sheet = folder / "error.json", folder / FILES["spritesheet"]
        if sheet.exists():
            video = folder / FILES["video"]
            return job.model_copy(update={
                "status": JobStatus.COMPLETED, "provider_status": "completed", "progress": 100,
                "video_url": video.resolve().as_uri(),
                "thumbnail_url": (folder / FILES["thumbnail"]).resolve().as_uri(),
                "completed_at": _mtime(sheet), "updated_at": _mtime(sheet)})
        if error.exists():
            failure = json.loads(error.read_text(encoding="utf-8"))
            return job.model_copy(update={
                "status": JobStatus.FAILED, "provider_status": "failed", "error_code": failure["code"],
                "error_message": failure["message"], "completed_at": _mtime(error), "updated_at": _mtime(error)})
        process = self._runs.get(job_id)
        if process is not None and process.poll() is not None:
            # It ended without a result or an error: killed, or out of memory.
            _write_error(folder, "generation_failed", f"the render process of {job_id} ended with {process.returncode}")
            return await self.poll(job_id)
        if process is None:
            self._start(job_id)  # the process that ran it is gone with its parent: the folder says what to redo
        try:
            progress = int((folder / "progress").read_text())
        except (OSError, ValueError):
            progress = 0
        status = JobStatus.IN_PROGRESS if progress else JobStatus.QUEUED
        return job.model_copy(update={"status": status, "provider_status": status.value, "progress": progress})

    async def download(self, job: Job, variant: Variant, dest: Path) -> Path:
        source = self._folder(job.id) / FILES[variant]
        if not source.exists():
            raise ProviderError(f"local job {job.id} has no {variant} yet", code="not_ready", http_status=404)
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_name(f".{dest.name}.part")
        shutil.copyfile(source, part)
        os.replace(part, dest)
        return dest

    async def cancel(self, job_id: str) -> None:
        process = self._runs.get(job_id)
        if process is not None and process.poll() is None:
            process.terminate()
            await asyncio.to_thread(process.wait)
            _write_error(self._folder(job_id), "cancelled", f"job {job_id} was cancelled")


def _write_error(folder: Path, code: str, message: str) -> None:
    part = folder / ".error.json.part"
    part.write_text(json.dumps({"code": code, "message": message}), encoding="utf-8")
    os.replace(part, folder / "error.json")


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC)
