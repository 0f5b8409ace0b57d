"""The request, job and status table every provider shares."""

from __future__ import annotations

import logging

import pytest
from pydantic import ValidationError

from draftrender.generate import GenerationRequest, Job, JobStatus, normalise_status

TABLE = {
    JobStatus.QUEUED: ["pending", "submitted", "created", "queueing", "in_queue", "queued"],
    JobStatus.IN_PROGRESS: ["processing", "running", "generating", "in_progress"],
    JobStatus.COMPLETED: ["succeeded", "succeed", "success", "done", "finished", "completed"],
    JobStatus.FAILED: ["error", "cancelled", "failed"],
}


@pytest.mark.parametrize("state,words", TABLE.items())
def test_every_status_word_maps_case_insensitively(state, words):
    for word in words:
        assert normalise_status(word) is state
        assert normalise_status(word.upper()) is state
        assert normalise_status(f" {word.title()} ") is state


def test_an_unknown_status_stays_where_it_was_and_is_logged_once(caplog):
    with caplog.at_level(logging.WARNING, logger="draftrender.generate.base"):
        assert normalise_status("warming_up_xyz", current=JobStatus.IN_PROGRESS) is JobStatus.IN_PROGRESS
        assert normalise_status("Warming_Up_XYZ") is JobStatus.QUEUED
    assert [r.getMessage() for r in caplog.records] == [
        "unknown generation status 'warming_up_xyz': treated as not finished"]
    assert not JobStatus.IN_PROGRESS.terminal and JobStatus.FAILED.terminal


def test_request_checks_its_size():
    assert GenerationRequest(model="local-title", size="1280x720").dimensions() == (1280, 720)
    with pytest.raises(ValidationError, match="size must be WxH in pixels, like 1280x720"):
        GenerationRequest(model="local-title", size="720p")
    with pytest.raises(ValidationError):
        GenerationRequest(model="local-title", unknown_field=1)


def test_digest_follows_the_request_and_a_local_image_by_its_bytes(tmp_path):
    image = tmp_path / "a.png"
    image.write_bytes(b"one")
    a = GenerationRequest(model="local-kenburns", images=(str(image),), seed=1)
    assert a.digest() == GenerationRequest(model="local-kenburns", images=(str(image),), seed=1).digest()
    assert a.digest() != GenerationRequest(model="local-kenburns", images=(str(image),), seed=2).digest()
    before = a.digest()
    image.write_bytes(b"two")
    assert a.digest() != before


def test_job_round_trips_through_json():
    job = Job(id="task_1", provider="vibegen", model="seedance 2.0", status=JobStatus.IN_PROGRESS, progress=45)
    again = Job.model_validate_json(job.model_dump_json())
    assert again == job and not again.terminal
