"""The packaged OpenAPI file matches the REST routes and the written protocol."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from tests.paths import REPO
from voice_interview import protocol
from voice_interview.server import errors, rest

REPO = REPO
SPEC_PATH = REPO / "voice_interview" / "server" / "openapi.yaml"
DOC_PATH = REPO / "docs" / "PROTOCOL.md"
METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")
DOCUMENTED_PREFIXES = ("/api/", "/health", "/metrics")


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    loaded = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _resolve(spec: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), f"only local refs are used, got {ref}"
    node: Any = spec
    for part in ref[2:].split("/"):
        assert isinstance(node, dict) and part in node, f"dangling $ref {ref}"
        node = node[part]
    return node


def _walk(node: Any) -> Any:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _operations(spec: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): op
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in METHODS
    }


def _error_codes(spec: dict[str, Any]) -> list[str]:
    schema = spec["components"]["schemas"]["Error"]
    codes = schema["properties"]["error"]["properties"]["code"]["enum"]
    assert isinstance(codes, list)
    return [str(c) for c in codes]


def test_spec_has_the_openapi_3_0_3_shape(spec: dict[str, Any]) -> None:
    assert spec["openapi"] == "3.0.3"
    assert spec["info"]["title"] and spec["info"]["version"]
    assert spec["paths"]
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {**schemes["bearerAuth"], "type": "http", "scheme": "bearer"}
    for requirement in spec.get("security", []):
        assert set(requirement) <= set(schemes)
    for node in _walk(spec):
        if "$ref" in node:
            _resolve(spec, node["$ref"])
    operation_ids = []
    for (method, path), op in _operations(spec).items():
        assert path.startswith("/"), path
        assert op.get("responses"), f"{method} {path} has no responses"
        operation_ids.append(op["operationId"])
        for requirement in op.get("security", []):
            assert set(requirement) <= set(schemes)
        item = spec["paths"][path]
        params = [
            _resolve(spec, p["$ref"]) if "$ref" in p else p
            for p in [*item.get("parameters", []), *op.get("parameters", [])]
        ]
        declared = {p["name"] for p in params if p["in"] == "path"}
        assert declared == set(re.findall(r"{(\w+)}", path)), f"{method} {path} path params"
        for p in params:
            if p["in"] == "path":
                assert p["required"] is True
        for status, response in op["responses"].items():
            assert re.fullmatch(r"[1-5]\d\d|default", str(status)), (path, status)
            body = _resolve(spec, response["$ref"]) if "$ref" in response else response
            assert body["description"]
            if str(status).startswith(("4", "5")) and path != "/health":
                schema = body["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, status)
    assert len(operation_ids) == len(set(operation_ids)), "operationId values must be unique"


def test_every_rest_route_is_documented_and_nothing_else(spec: dict[str, Any]) -> None:
    app = web.Application()
    rest.add_routes(app)
    routes = {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None
        and route.method != "HEAD"  # aiohttp adds HEAD beside every GET
        and route.resource.canonical.startswith(DOCUMENTED_PREFIXES)
    }
    assert ("GET", "/api/openapi.yaml") in routes
    assert routes == set(_operations(spec))


def test_request_constraints_match_the_handlers(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    interview = schemas["InterviewRequest"]
    num = interview["properties"]["num_questions"]
    assert (num["type"], num["minimum"], num["maximum"], num["default"]) == ("integer", 1, 20, 10)
    assert interview["required"] == ["candidate_id"]
    assert schemas["CvAnalysisRequest"]["required"] == ["candidate_id", "cv_text"]
    # The server ignores fields it does not know; the schemas must not forbid them.
    for name in ("InterviewRequest", "CvAnalysisRequest"):
        assert schemas[name].get("additionalProperties", True) is not False
    assert schemas["NonBlankId"]["maxLength"] == rest.MAX_ID_LEN
    statuses = schemas["InterviewStatus"]["enum"]
    assert statuses == ["ready", "in_progress", "paused", "completed", "cancelled"]


def test_every_error_the_server_raises_is_in_the_spec(spec: dict[str, Any]) -> None:
    codes = set(_error_codes(spec))
    server_dir = Path(rest.__file__).parent
    raised: set[str] = set(errors._HTTP_CODES.values()) | {"HTTP_ERROR", "INTERNAL_ERROR"}
    handlers = sorted(server_dir.glob("rest*.py"))
    modules = [*handlers, server_dir / "auth.py", server_dir / "errors.py"]
    found: set[str] = set()
    for module in modules:
        source = module.read_text(encoding="utf-8")
        found |= set(re.findall(r"ApiError\(\s*\d{3},\s*\"([A-Z_]+)\"", source))
    # The scan reads the handlers wherever they live: codes only handlers raise are found.
    assert {"INTERVIEW_NOT_FOUND", "CV_ANALYSIS_NOT_FOUND"} <= found
    assert (raised | found) - codes == set()


def test_every_error_code_is_written_in_the_protocol_doc(spec: dict[str, Any]) -> None:
    doc = DOC_PATH.read_text(encoding="utf-8")
    ws_codes = {
        value
        for name, value in vars(protocol).items()
        if name.isupper() and isinstance(value, str) and value == name
    }
    example_codes = {
        node["code"]
        for node in _walk(spec)
        if isinstance(node.get("code"), str) and re.fullmatch(r"[A-Z_]+", node["code"])
    }
    missing = sorted(c for c in {*_error_codes(spec), *ws_codes, *example_codes} if c not in doc)
    assert missing == []
    for close_code in (
        protocol.CLOSE_UNAUTHORIZED,
        protocol.CLOSE_NOT_FOUND,
        protocol.CLOSE_OVERLOADED,
    ):
        assert str(close_code) in doc
    for status in ("400", "401", "403", "404", "409", "413", "429", "503"):
        assert status in doc


def test_the_spec_ships_with_the_package() -> None:
    packaged = resources.files("voice_interview.server").joinpath("openapi.yaml")
    assert packaged.is_file()
    assert packaged.read_text(encoding="utf-8") == SPEC_PATH.read_text(encoding="utf-8")


async def test_the_spec_is_served(spec: dict[str, Any]) -> None:
    app = web.Application()
    rest.add_routes(app)
    async with TestClient(TestServer(app)) as client:
        response = await client.get("/api/openapi.yaml")
        assert response.status == 200
        assert response.content_type == "text/yaml"
        assert yaml.safe_load(await response.text()) == spec
