"""The segment lookup API: `GET /v1/persons/{key}` -> segment, rule segments and experiment variants.

FastAPI on uvicorn (docs/api.md says why). Every `/v1` request must carry `Authorization: Bearer <token>`
with one of the tokens in `SEGWAREHOUSE_API_TOKEN` (comma-separated, for rotation); the check runs before the
key is even looked at, so a caller without a token learns nothing, not even whether a key is well-formed.
Keys are never logged (uvicorn's access log is off; see server.py).
"""


import asyncio
import hmac
import os
import re
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from segwarehouse.api.store import ServingStore
from segwarehouse.core.paths import get_paths
from segwarehouse.serving.person_keys import KEY_TYPES

TOKEN_ENV = "SEGWAREHOUSE_API_TOKEN"
RELOAD_ENV = "SEGWAREHOUSE_API_RELOAD_SECONDS"
MAX_KEY_LENGTH = 256
# printable ASCII without spaces, '/', '@', quotes, backslash or '%' (ids are opaque, but not free text)
_KEY = re.compile(r"[A-Za-z0-9._:~+=,;!$*()\[\]{}|^`#&?<>-]+")
_HMAC = re.compile(r"[0-9a-f]{64}")


class Segment(BaseModel):
    id: int
    name: str
    model_version: str | None = None
    scored_at: str | None = Field(None, description="when the scoring run assigned the segment (UTC)")


class RuleSegment(BaseModel):
    id: str
    name: str


class ExperimentVariant(BaseModel):
    experiment: str
    variant: str = Field(description="arm to show; `holdout` and the control mean: show the default content")


class PersonSegments(BaseModel):
    person_id: str
    matched_key_types: list[str] = Field(description="which kind(s) of key matched: customer_id, anonymous_id, "
                                                     "email_hmac")
    segment: Segment | None = Field(description="ML segment of the current scoring run; null if not scored")
    rule_segments: list[RuleSegment]
    experiments: list[ExperimentVariant] = Field(
        description="running experiments the person is assigned to and may be treated in (consent respected)")
    as_of_date: str | None = Field(description="data date of the published profiles")


class Problem(BaseModel):
    detail: str


def parse_tokens(raw: str | None) -> tuple[str, ...]:
    tokens = tuple(t.strip() for t in (raw or "").split(",") if t.strip())
    if not tokens:
        raise RuntimeError(f"{TOKEN_ENV} is not set: the segment API refuses to start without a bearer token")
    if any(len(t) < 16 for t in tokens):
        raise RuntimeError(f"{TOKEN_ENV}: every token must have at least 16 characters")
    return tokens


def validate_key(key: str, key_type: str | None) -> None:
    """Raise 400 for keys that cannot be identifiers; raw e-mail addresses are refused (send the HMAC)."""
    if key_type is not None and key_type not in KEY_TYPES:
        raise HTTPException(400, f"key_type must be one of {', '.join(KEY_TYPES)}")
    if "@" in key:
        raise HTTPException(400, "raw e-mail addresses are not accepted: send the e-mail's HMAC "
                                 "(key_type=email_hmac), never the address")
    if not key or len(key) > MAX_KEY_LENGTH or not _KEY.fullmatch(key):
        raise HTTPException(400, f"malformed key: 1 to {MAX_KEY_LENGTH} printable ASCII characters without "
                                 "spaces, '/', '%', quotes or backslashes")
    if key_type == "email_hmac" and not _HMAC.fullmatch(key):
        raise HTTPException(400, "an email_hmac is 64 lower-case hex characters (HMAC-SHA256)")


# the lookup route reads its parameters from the request itself (FastAPI's per-request parameter and dependency
# resolution cost more than the lookup); this describes them in the OpenAPI document instead
_PERSON_OPENAPI = {
    "parameters": [
        {"name": "key", "in": "path", "required": True, "schema": {"type": "string", "maxLength": MAX_KEY_LENGTH},
         "description": "a CRM customer id, an anonymous (device/cookie) id, or the HMAC-SHA256 (hex) of a "
                        "normalised e-mail keyed with SEGWAREHOUSE_PII_KEY; never a raw e-mail address"},
        {"name": "key_type", "in": "query", "required": False,
         "schema": {"type": "string", "enum": list(KEY_TYPES)},
         "description": "which kind of key it is; without it every kind is tried"},
    ],
    "security": [{"HTTPBearer": []}],
}


def create_app(serving: str | Path, tokens: tuple[str, ...], *, reload_seconds: float = 0.5) -> FastAPI:
    store = ServingStore(serving, reload_seconds)
    expected = [t.encode() for t in tokens]

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # load the current publish before this worker accepts connections: with several workers on one socket,
        # a worker that is still loading would otherwise answer 503 while its siblings answer
        await asyncio.to_thread(store.refresh)
        store.start()
        yield
        store.stop()

    app = FastAPI(
        title="segwarehouse segment lookup",
        version="1",
        description="Which segment, rule segments and experiment variants a person is in, for content systems "
                    "rendering a page. Reads the published serving file; follows every publish.",
        lifespan=lifespan,
    )
    app.state.store = store

    def authorize(request: Request) -> None:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        given_bytes = given.encode() if scheme.lower() == "bearer" else b""
        if not any(hmac.compare_digest(given_bytes, token) for token in expected):
            raise HTTPException(401, "missing or invalid bearer token", headers={"WWW-Authenticate": "Bearer"})

    @app.get("/healthz", tags=["operations"], summary="Liveness: the process answers")
    async def healthz() -> dict:
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"], summary="Readiness: a published serving file is loaded",
             responses={503: {"model": Problem}})
    async def readyz() -> Response:
        index = store.index
        body = {"ready": index is not None, "error": store.last_error,
                "as_of_date": index.as_of_date if index else None,
                "loaded_publishes": store.loads}
        return JSONResponse(body, status_code=200 if index is not None else 503)

    @app.get(
        "/v1/persons/{key}", tags=["persons"], response_model=PersonSegments, openapi_extra=_PERSON_OPENAPI,
        summary="Segments and experiment variants of one person",
        responses={400: {"model": Problem}, 401: {"model": Problem}, 404: {"model": Problem},
                   409: {"model": Problem}, 503: {"model": Problem}},
    )
    async def person(request: Request) -> Response:
        authorize(request)  # before anything about the key is looked at
        key, key_type = request.path_params["key"], request.query_params.get("key_type")
        validate_key(key, key_type)
        index = store.index
        if index is None:
            raise HTTPException(503, "no serving file loaded yet")
        matches = index.find(key, (key_type,) if key_type else KEY_TYPES)
        if not matches:
            raise HTTPException(404, "no person with this key")
        if len(matches) > 1:
            raise HTTPException(409, "the key names different persons as different key types: pass key_type")
        return Response(index.answer(matches[0]), media_type="application/json")

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = FastAPI.openapi(app)
            schema.setdefault("components", {}).setdefault("securitySchemes", {})["HTTPBearer"] = {
                "type": "http", "scheme": "bearer", "description": f"one of the tokens in {TOKEN_ENV}"}
        return app.openapi_schema

    app.openapi = openapi
    return app


def app_from_env() -> FastAPI:
    """The app for the serving file of the environment (uvicorn factory; see server.py)."""
    return create_app(get_paths().serving, parse_tokens(os.environ.get(TOKEN_ENV)),
                      reload_seconds=float(os.environ.get(RELOAD_ENV, "0.5")))
