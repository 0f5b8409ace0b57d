"""What an operator can set on the gen_video service, with safe defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "draftrender" / "server"


def default_workers() -> int:
    # A render already keeps a few cores busy (decoders, x264 threads).
    return max(1, min(4, (os.cpu_count() or 2) // 2))


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = field(default_factory=default_data_dir)
    workers: int = field(default_factory=default_workers)
    queue_size: int = 32  # tasks waiting for a worker; more get 503
    api_keys: frozenset[str] = frozenset()  # empty: no key needed; a key sees only the tasks it made
    admin_keys: frozenset[str] = frozenset()  # keys that see every task
    allow_private_urls: bool = False
    media_roots: tuple[Path, ...] = ()  # local media a URL draft may name; none by default
    task_timeout: float = 1800.0  # seconds a render may run before it is killed (504)
    retention_hours: float = 24.0  # finished tasks and their files live this long
    public_url: str | None = None  # base of video_url; default: the host the request came to
    # Seconds a request waits for its video before answering 202: well inside common client
    # and proxy timeouts (the gen_video document's client waits 300 s; nginx and load
    # balancers 60 s), so the 202 with the task_id arrives before any of them gives up.
    default_wait: float = 30.0
    max_wait: float = 3600.0
    # A failed task is answered to identical requests for this long, so a polling caller
    # sees the error; after it an identical request tries again.
    failed_memory: float = 60.0
    max_request_bytes: int = 64 << 10
    max_draft_bytes: int = 32 << 20
    max_media_bytes: int = 2 << 30
    max_output_pixels: int = 4096 * 2160  # a video's area; the default allows 4K either way up
    draft_fetches: int = 16  # drafts downloading at once; one more is answered 503
    draft_timeout: float = 30.0  # seconds to download a draft, retries included
    media_timeout: float = 900.0  # seconds to download one medium, retries included
    max_cache_bytes: int = 20 << 30  # downloaded media kept; the least recently used go first
    max_attempts: int = 2  # starts of one task across restarts before it is failed
    retry_after: int = 10  # seconds, for 503 answers
    # Scaled out (all three, or none): renders go to `draftrender worker`s through the broker.
    broker: str | None = None  # redis://HOST:6379/0
    store: str | None = None  # the task store's SQLAlchemy URL; default: SQLite in the data dir
    storage: str | None = None  # a shared folder or s3://bucket/prefix; default: the data dir
    # Scaled out: a draft longer than this renders in chunks on several workers (None: never).
    chunk_seconds: float | None = None
    # Seconds a client has to send a request's head after connecting (or after the last
    # answer on a kept-alive connection), and again its body.
    request_timeout: float = 30.0
    max_connections: int = 0  # open at once; 0: the descriptor limit less a reserve
    # The generation gateway (OpenAI /v1/videos, 易尚云, vibegen, 兆投算力).
    providers_file: Path | None = None  # model → provider, and [[price]] rules; default: generate.providers
    generation_retention_hours: float = 24.0  # generated files live this long; the record stays
    generation_timeout: float = 600.0  # seconds before an unfinished vibegen task is failed (its document)
    poll_after_ms: int = 2000  # openai-poll-after-ms on /v1/videos answers
    rate_per_minute: int | None = 1000  # per key, for creates and for queries each (vibegen's limits)
    max_upload_bytes: int = 32 << 20  # a multipart /v1/videos body (an input_reference image)
    jwt_ttl: float = 3600.0  # seconds a login's token is valid
    webhook_retry_base: float = 30.0  # seconds before a failed callback's first retry; doubles each time
    webhook_retry_max: float = 3600.0  # the longest wait between two tries
    webhook_give_up_after: float = 86400.0  # a callback not delivered by then is failed
    webhook_secret: str | None = None  # signs VideoMatic callbacks of callers whose key has no secret

    def __post_init__(self):
        object.__setattr__(self, "data_dir", Path(self.data_dir))
        object.__setattr__(self, "media_roots", tuple(Path(r).resolve() for r in self.media_roots))
        object.__setattr__(self, "api_keys", frozenset(k for k in self.api_keys if k))
        object.__setattr__(self, "admin_keys", frozenset(k for k in self.admin_keys if k))
        if self.workers < 1 or self.queue_size < 0 or self.task_timeout <= 0 or self.retention_hours <= 0:
            raise ValueError("workers must be ≥ 1, queue size ≥ 0, task timeout and retention > 0")
        if self.public_url:
            object.__setattr__(self, "public_url", self.public_url.rstrip("/"))

    @property
    def retention_s(self) -> float:
        return self.retention_hours * 3600

    @property
    def generation_retention_s(self) -> float:
        return self.generation_retention_hours * 3600


def read_keys_file(path: Path) -> frozenset[str]:
    """API keys, one a line; blank lines and lines starting with # are skipped."""
    lines = (line.strip() for line in Path(path).read_text(encoding="utf-8").splitlines())
    return frozenset(line for line in lines if line and not line.startswith("#"))
