"""Schemathesis against the registry's own OpenAPI: every operation, valid and invalid input.

Each operation gets ``REGISTRY_FUZZ_EXAMPLES`` generated requests (default 8) for each of
the positive and negative modes, derandomized (the seed is fixed by the test's name), on
a database of its own seeded with the demo library so real prompt names exist, with an
admin key, so that every operation is reached past authentication. Every answer must be:

- not a server error (no 5xx);
- ``application/problem+json`` with ``type``, ``title``, ``status``, ``detail`` and
  ``errors`` when it is an error;
- what the OpenAPI schema declares (status, content type, headers, body).

The suite's run takes well under two minutes per store. The longer run, for before a
release or after touching validation::

    python tests/fuzz/run.py            # 200 examples per operation and mode
    python tests/fuzz/run.py 1000 -k sqlite

which is ``REGISTRY_FUZZ_EXAMPLES=200 pytest tests/fuzz`` (add
``REGISTRY_TEST_DATABASE_URL`` for PostgreSQL). ``REGISTRY_FUZZ_SEED`` changes the
generated data from the fixed default, to explore further.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.access import keys
from registry.access.schemas import KeyCreate
from registry.app import create_app
from registry.config import Settings
from registry.db import Database
from registry.demo import seed_demo
from registry.prompts.models import Prompt

EXAMPLES = int(os.environ.get("REGISTRY_FUZZ_EXAMPLES", "8"))
SEED = int(os.environ.get("REGISTRY_FUZZ_SEED", "0"))
MODES = [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
PROBLEM_MEMBERS = {"type", "title", "status", "detail", "errors"}


@dataclass(frozen=True)
class Fuzzed:
    schema: schemathesis.BaseSchema
    names: list[str]
    headers: dict[str, str]
    # The fuzzing key's id and prefix: generated revocations must not hit it.
    own_key: frozenset[str]


@pytest.fixture
def fuzz_schema(migrated_url: str) -> Iterator[Fuzzed]:
    database = Database.from_url(migrated_url)
    with Session(database.engine) as session:
        seed_demo(session)
        key = keys.create_key(session, KeyCreate(owner="fuzz", role="admin"), created_by="fuzz")
        session.commit()
    app = create_app(Settings(database_url=migrated_url, max_body_bytes=64 * 1024), db=database)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    with Session(database.engine) as session:
        names = list(session.scalars(select(Prompt.name).order_by(Prompt.name)))
    headers = {"Authorization": f"Bearer {key.token}"}
    yield Fuzzed(schema, names, headers, frozenset({str(key.id), key.prefix}))
    database.dispose()


def _problem_body(response: Any) -> str | None:
    """Why an error answer is not a complete problem, or None."""
    if response.status_code < 400 or response.request.method == "HEAD":
        return None
    content_type = response.headers.get("content-type") or [""]
    media_type = content_type[0].split(";")[0].strip()
    if media_type != "application/problem+json":
        return f"error with content type {media_type!r}"
    body = response.json()
    if not isinstance(body, dict) or not body.keys() >= PROBLEM_MEMBERS:
        return f"problem without {sorted(PROBLEM_MEMBERS - set(body))}"
    if body["status"] != response.status_code:
        return f"problem status {body['status']} on a {response.status_code}"
    return None


def _cases(operation: Any, mode: schemathesis.GenerationMode, fuzzed: Fuzzed) -> Any:
    """Generated cases; half of them name a real prompt, so they get past the 404."""
    names = fuzzed.names
    generated = operation.as_strategy(generation_mode=mode)
    if "{key}" in operation.path:
        return generated.filter(lambda case: case.path_parameters["key"] not in fuzzed.own_key)
    if "{name}" not in operation.path or not operation.path.startswith("/v1/prompts/"):
        return generated
    real = st.sampled_from(names).flatmap(
        lambda name: operation.as_strategy(generation_mode=mode, path_parameters={"name": name})
    )
    return st.one_of(generated, real)


def _fuzz_operation(
    operation: Any, mode: schemathesis.GenerationMode, fuzzed: Fuzzed
) -> Callable[[], None]:
    @seed(SEED)
    @settings(
        max_examples=EXAMPLES,
        derandomize=SEED == 0,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    @given(case=_cases(operation, mode, fuzzed))
    def run(case: Any) -> None:
        # Negative cases may mangle the credentials; the input under test is the rest.
        case.headers = {**(case.headers or {}), **fuzzed.headers}
        response = case.call()
        assert response.status_code != 401, f"the fuzzing key was refused: {response.text}"
        case.validate_response(response, checks=CHECKS)
        problem = _problem_body(response)
        assert problem is None, f"{problem}\n{case.as_curl_command()}\n{response.text[:500]}"

    return run


def test_every_operation(fuzz_schema: Fuzzed) -> None:
    failures: list[str] = []
    operations = 0
    for result in fuzz_schema.schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in MODES:
            try:
                _fuzz_operation(operation, mode, fuzz_schema)()
            except Unsatisfiable:
                # Nothing to make invalid: no parameters and no body.
                assert mode is schemathesis.GenerationMode.NEGATIVE, operation.label
            except (Exception, BaseExceptionGroup) as exc:  # a FailureGroup too
                failures.append(f"{operation.label} [{mode.value}]: {exc}")
    assert operations > 20
    assert not failures, "\n\n".join(failures)
