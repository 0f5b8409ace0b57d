"""A schema-driven fuzz run (schemathesis) against the real service's /openapi.json on loopback:
every route, a bounded number of derandomized cases each (the same cases on every run), checked
for no 5xx, only documented statuses, bodies and content types as described, and no schema-valid
request refused unless for a reason no schema can state (below)."""

from __future__ import annotations

import socket

import jsonschema
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import Failure
from service_harness import Service

from draftrender import http
from draftrender.server import ServerConfig, openai_videos

CASES_PER_ROUTE = 40
# A schema-valid request may still be refused for what only the server knows, or what JSON Schema
# cannot relate: a draft URL that does not resolve or answer, a model no provider serves, a
# template config's draft that cannot be read, an end option before the start option.
OUTSIDE_THE_SCHEMA = ("素材无法访问", "草稿不存在", "resolve", "private address", "no provider serves model",
                      "config", "must come after start")


def accepted_unless_outside_the_schema(ctx, response, case):
    try:
        return positive_data_acceptance(ctx, response, case)
    except Failure:
        if response.status_code != 400 or not any(reason in response.text for reason in OUTSIDE_THE_SCHEMA):
            raise
        return None


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          accepted_unless_outside_the_schema]


class NoDNS:
    """Every name unknown: draft URLs the fuzzer makes up ask no real DNS server (hermetic, quick)."""

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list[dict]:
        raise OSError(socket.EAI_NONAME, f"{host}: no name resolves in the fuzz run")

    async def close(self) -> None:
        pass


@pytest.fixture
def start(tmp_path, monkeypatch):
    """start(**config) → the service, on loopback, resolving no names."""
    monkeypatch.setattr(http, "base_resolver", NoDNS)
    started: list[Service] = []

    def start(**config) -> Service:
        started.append(Service(ServerConfig(data_dir=tmp_path / f"data{len(started)}", workers=1, **config)))
        return started[-1]

    yield start
    for service in started:
        service.stop()


def fuzz(service: Service, cases_per_route: int, headers: dict | None = None) -> tuple[list[str], int, list[int]]:
    """Every route of the service's description, `cases_per_route` derandomized cases each:
    (the failures, the routes, each case's status)."""
    schema = schemathesis.openapi.from_url(f"{service.url}/openapi.json")
    failures: list[str] = []
    statuses: list[int] = []
    routes = 0

    def record(ctx, response, case):
        statuses.append(response.status_code)

    for operation in (result.ok() for result in schema.get_all_operations()):
        routes += 1

        @given(operation.as_strategy())
        @settings(max_examples=cases_per_route, derandomize=True, database=None, deadline=None,
                  suppress_health_check=list(HealthCheck))
        def call(case):
            case.call_and_validate(base_url=service.url, headers=headers, checks=[record, *CHECKS])

        try:
            call()
        except BaseExceptionGroup as e:  # schemathesis's FailureGroup: what it found on this route
            failures.append(f"{operation.label}: {e}")
    return failures, routes, statuses


def test_every_route_keeps_to_its_description(start):
    failures, routes, statuses = fuzz(start(), CASES_PER_ROUTE)
    print(f"schema fuzz: {len(statuses)} cases over {routes} routes")
    assert routes >= 30 and len(statuses) >= routes
    assert not failures, "\n\n".join(failures)


def test_every_route_describes_its_refusals_of_a_missing_key_and_a_spent_rate(start):
    # Keys required: without one, every route but the public ones answers 401. With one, and a
    # rate of 1 a minute, the rate-limited routes answer 429 from their second call on.
    service = start(api_keys=frozenset({"fuzz-key"}), rate_per_minute=1)
    for headers, refusal in ((None, 401), ({"Authorization": "Bearer fuzz-key"}, 429)):
        failures, routes, statuses = fuzz(service, 5, headers)
        assert not failures, "\n\n".join(failures)
        assert statuses.count(refusal) >= routes // 2, sorted(statuses)


@pytest.mark.parametrize("reference", [
    "https://example.com/a.png",  # 易尚云's single URL
    {"image_url": "https://example.com/a.png"},
    ["https://example.com/a.png", "https://example.com/b.png"],
])
def test_the_videos_body_describes_every_input_reference_the_handler_takes(reference):
    """The fuzz run sends only what the description allows, so a form the handler takes but the
    description leaves out is never caught there: each is checked against both here."""
    body = {"prompt": "a cat", "input_reference": reference}
    jsonschema.Draft202012Validator(openai_videos.CREATE).validate(body)
    refs, uploads = openai_videos._images(body, "video_x")
    assert refs and all(r.startswith("https://example.com/") for r in refs) and not uploads
