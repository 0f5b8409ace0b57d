"""Running one generation to a file: submit, remember the job, poll to the deadline, download.

Owns: the journal (the provider's job id written to disk before polling starts, so a
process that dies mid-job resumes it instead of submitting, and paying, twice), the poll
interval and its growth, the overall deadline, and fetching a fresh URL once when the
result's URL has expired.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from .base import (
    GenerationRequest,
    Job,
    JobDeadline,
    JobFailed,
    JobStatus,
    Provider,
    ProviderError,
    Variant,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Timing:
    """How a job is waited for (seconds)."""

    deadline: float = 900.0  # the whole job, from submit to the downloaded file
    poll_interval: float = 5.0  # between polls at first, unless the provider asks for another
    max_poll_interval: float = 30.0  # the interval grows by half each poll up to this


def read_journal(journal: Path, request: GenerationRequest, provider: str) -> Job | None:
    """The job a previous run started for this request on this provider, if any."""
    try:
        entry = json.loads(journal.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if entry.get("request") != request.digest() or entry.get("provider") != provider:
        return None
    return Job.model_validate(entry["job"])


def write_journal(journal: Path, request: GenerationRequest, job: Job) -> None:
    journal.parent.mkdir(parents=True, exist_ok=True)
    part = journal.with_name(f".{journal.name}.part")
    entry = {"request": request.digest(), "provider": job.provider, "job": job.model_dump(mode="json")}
    part.write_text(json.dumps(entry), encoding="utf-8")
    os.replace(part, journal)


async def run_job(provider: Provider, request: GenerationRequest, dest: Path, *, journal: Path,
                  timing: Timing = Timing(), on_update: Callable[[Job], None] = lambda job: None,
                  extras: tuple[Variant, ...] = (),
                  sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> Job:
    """Generate `request` on `provider` into `dest` (the video) and return the finished job.

    `extras` (thumbnail, spritesheet) are saved beside `dest` as <stem>.<variant>.jpg when
    the provider has them. Raises JobFailed, JobDeadline or ProviderError.
    """
    started = time.monotonic()
    job = read_journal(journal, request, provider.name)
    if job is None or job.status is JobStatus.FAILED:
        job = await provider.submit(request)
        write_journal(journal, request, job)
    on_update(job)
    interval = timing.poll_interval
    while not job.terminal:
        left = timing.deadline - (time.monotonic() - started)
        if left <= 0:
            await cancel_quietly(provider, job.id)
            raise JobDeadline(f"{provider.name} job {job.id} ({request.model}) did not finish within "
                              f"{timing.deadline:g} s (last status: {job.provider_status or job.status.value}, "
                              f"{job.progress} %)", code="deadline")
        await sleep(min(job.poll_after if job.poll_after is not None else interval, left))
        interval = min(interval * 1.5, timing.max_poll_interval)
        job = await provider.poll(job.id)
        write_journal(journal, request, job)
        on_update(job)
    if job.status is JobStatus.FAILED:
        raise JobFailed(f"{provider.name} job {job.id} ({request.model}) failed: "
                        f"{job.error_message or 'no reason given'}"
                        + (f" ({job.error_code})" if job.error_code else ""), code=job.error_code)
    job = await _download(provider, job, "video", dest)
    for variant in extras:
        try:
            await provider.download(job, variant, dest.with_name(f"{dest.stem}.{variant}.jpg"))
        except ProviderError:
            pass  # previews are a nicety: not every provider makes them
    journal.unlink(missing_ok=True)
    return job


async def _download(provider: Provider, job: Job, variant: Variant, dest: Path) -> Job:
    """Download now, as result URLs expire; on an expired URL, poll once for a fresh one."""
    try:
        await provider.download(job, variant, dest)
        return job
    except ProviderError as e:
        if e.http_status not in (403, 404, 410):
            raise
    job = await provider.poll(job.id)
    try:
        await provider.download(job, variant, dest)
    except ProviderError as e:
        raise ProviderError(f"{provider.name} job {job.id}: the result could not be downloaded, its URL has "
                            f"expired ({e})", code="result_expired", http_status=e.http_status) from None
    return job


async def cancel_quietly(provider: Provider, job_id: str) -> None:
    """Ask the provider to stop a job we no longer want, best effort: whatever it answers, the
    job's end is already decided here (a deadline, a deleted task), so an error is only logged."""
    try:
        await provider.cancel(job_id)
    except ProviderError as e:
        log.warning("%s job %s was not cancelled: %s", provider.name, job_id, e)
