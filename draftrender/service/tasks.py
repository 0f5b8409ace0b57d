"""A gen_video task: its record, its stages, and how it is shown to callers."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

QUEUED, PROCESSING, COMPLETED, FAILED = "queued", "processing", "completed", "failed"
STATUSES = (QUEUED, PROCESSING, COMPLETED, FAILED)
FINISHED = (COMPLETED, FAILED)

# Each stage's share of the 0–100 progress, in the order a render passes through them.
STAGE_SPANS = {
    "parse": (0, 5), "download": (5, 20), "render": (20, 85),
    "audio": (85, 92), "encode": (92, 98), "store": (98, 100),
}
STAGES = tuple(STAGE_SPANS)


@dataclass
class Task:
    id: str
    key: str  # draft_url + options + draft content: identical requests share a task
    draft_url: str
    options: dict
    status: str = QUEUED
    stage: str | None = None
    progress: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)  # stage → seconds spent
    error: dict | None = None  # DraftRenderError.to_json() plus "status"
    result: dict | None = None  # RenderResult.to_json() without the worker's paths
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    attempts: int = 0
    worker_pid: int | None = None
    base_url: str | None = None  # the JSON's own URL after unwrapping, for relative media
    owner: str | None = None  # the id of the API key that created it; None when the service has no keys
    heartbeat: float | None = None  # scaled out: when its worker last said it is alive

    @property
    def done(self) -> bool:
        return self.status in FINISHED

    def video_path(self) -> str:
        return f"/files/{self.id}.mp4"

    def to_json(self, base: str) -> dict:
        """The task as GET /v1/gen_video/{id} shows it; `base` is the service's public URL."""
        doc = {
            "task_id": self.id, "status": self.status, "progress": round(self.progress, 1),
            "stage": self.stage, "stages": {k: round(v, 3) for k, v in self.stages.items()},
            "draft_url": self.draft_url, "options": self.options,
            "created_at": iso(self.created), "started_at": iso(self.started),
            "finished_at": iso(self.finished), "attempts": self.attempts,
            "error": self.error, "video_url": None,
        }
        if self.result is not None:
            doc.update(self.result)
            doc["video_url"] = base + self.video_path()
        return doc


def overall_progress(stage: str, done: int, total: int) -> float | None:
    """0–100 for an event of a stage; None for a stage we do not know."""
    span = STAGE_SPANS.get(stage)
    if span is None:
        return None
    frac = min(max(done / total, 0.0), 1.0) if total else 0.0
    return span[0] + (span[1] - span[0]) * frac


def iso(t: float | None) -> str | None:
    return None if t is None else datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds")


def outcome(task: Task) -> str:
    """A finished task in a log line: status, time taken, and the video's size and speed."""
    took = (task.finished or time.time()) - (task.started or task.created)
    if task.status != COMPLETED or not task.result:
        message = (task.error or {}).get("message", "")
        return f"{task.status} after {took:.1f} s: {message}"
    video, size = task.result.get("duration", 0.0), task.result.get("size_bytes", 0)
    speed = video / took if took > 0 else 0.0
    return f"{task.status} in {took:.1f} s: {video:.1f} s of video, {size / 1e6:.1f} MB, {speed:.2f}x realtime"
