"""Property-based tests from the app's own OpenAPI schema (schemathesis): no 5xx, and every response as documented.

Valid and invalid requests are generated for each operation, against a private copy of the seeded index.
(schemathesis' lazy ``from_fixture`` loader does not run under pytest 9, so the cases are drawn here directly.)
"""
from __future__ import annotations

import shutil

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from rag.api import create_app
from rag.pipeline import Pipeline
from rag.settings import Settings

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
OPERATIONS = [("/ask", "POST"), ("/search", "GET"), ("/documents", "GET"), ("/documents", "POST"),
              ("/documents/{doc_id}", "GET"), ("/documents/{doc_id}", "DELETE"), ("/health", "GET"),
              ("/config", "GET")]
MAX_EXAMPLES = 40


@pytest.fixture(scope="module")
def api_schema(seeded_pipeline, seeded_index_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("schema-index") / "index"
    shutil.copytree(seeded_index_dir, folder)
    settings_ = Settings(index_dir=folder, open_writes=True)  # the schema, not who may write: see test_security
    app = create_app(settings_, Pipeline(settings_, embedder=seeded_pipeline.embedder))
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def test_every_operation_is_tested(api_schema):
    found = {(operation.path, operation.method.upper()) for operation in
             (result.ok() for result in api_schema.get_all_operations())}
    assert found == set(OPERATIONS)


@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m} {p}" for p, m in OPERATIONS])
def test_operation_conforms_to_the_schema(api_schema, path, method):
    operation = api_schema[path][method]
    cases = st.one_of(operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE))

    @given(case=cases)
    @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case):
        case.call_and_validate(checks=CHECKS)

    check()
