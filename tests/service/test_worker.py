"""The worker's part claims, on a real Redis."""

from __future__ import annotations

import uuid

import redis

from draftrender.render.chunks import Part
from draftrender.service.queue import LEASE
from draftrender.service.tasks import Task
from draftrender.service.worker import PART_DONE, PartClaims


def test_a_rendered_part_stays_claimed_past_its_lease_for_its_attempt_only(redis_server):
    url = redis_server.url(5)
    claims = PartClaims(url)
    task = Task(id=uuid.uuid4().hex, key="k", draft_url="http://127.0.0.1/d.json", options={}, attempts=1)
    part, other = Part("video", 0, 900), Part("video", 900, 1800)
    assert claims.take(task, part) and not claims.take(task, part)
    key = f"draftrender:part:{task.id}:1:{part.name}"
    assert 0 < redis.Redis.from_url(url).ttl(key) <= LEASE
    with claims.held(task, part):  # the part renders
        assert 0 < redis.Redis.from_url(url).ttl(key) <= LEASE
    # A late copy of the part's message finds it taken long after the lease would have lapsed...
    assert LEASE < redis.Redis.from_url(url).ttl(key) <= PART_DONE
    assert not claims.take(task, part) and claims.take(task, other)
    # ...but a worker that takes the task over (the next attempt) renders it again: a part the
    # dead worker rendered for itself died with it.
    task.attempts = 2
    assert claims.take(task, part)
