"""The exception tree: every documented error code maps to its class and says what to do next."""

from __future__ import annotations

import pickle

import pytest

from kubeez_nb import errors as E

# (status, code) as listed in the guide's "Errors" section → the class a user catches.
DOCUMENTED = [
    (400, "invalid_request", E.BadRequestError),
    (400, "unsupported_aspect", E.UnsupportedAspectError),
    (400, "missing_prompt", E.MissingFieldError),
    (401, None, E.AuthenticationError),
    (402, "insufficient_credits", E.InsufficientCreditsError),
    (400, "insufficient_credits", E.InsufficientCreditsError),
    (403, "missing_scope", E.MissingScopeError),
    (404, "model_not_found", E.ModelNotFoundError),
    (404, "not_found", E.NotFoundError),
    (409, "name_taken", E.NameTakenError),
    (413, "file_too_large", E.FileTooLargeError),
    (413, "quota_exceeded", E.QuotaExceededError),
    (429, "rate_limit_exceeded", E.RateLimitError),
    (502, "fetch_failed", E.FetchFailedError),
    (500, None, E.ServerError),
    (503, None, E.ServerError),
]


@pytest.mark.parametrize(("status", "code", "cls"), DOCUMENTED)
def test_guide_body_maps_to_class(status: int, code: str | None, cls: type) -> None:
    body = {"error": code or "server_error", "message": "something happened"}
    if code is None:
        body = {"message": "something happened"}
    err = E.error_from_response(status, body)
    assert type(err) is cls
    assert isinstance(err, E.APIError) and isinstance(err, E.KubeezError)
    assert err.status == status
    assert err.body == body
    assert err.hint, "every error says what to do next"
    assert err.hint in str(err)
    assert "something happened" in str(err)


@pytest.mark.parametrize(("status", "code", "cls"), DOCUMENTED)
def test_fastapi_detail_body_maps_to_same_class(status: int, code: str | None, cls: type) -> None:
    # FastAPI variant: {"detail": {"error": code, "message": ...}} and {"detail": "<code>"}
    if code is not None:
        nested = E.error_from_response(status, {"detail": {"error": code, "message": "m"}})
        assert type(nested) is cls
        bare = E.error_from_response(status, {"detail": code})
        assert type(bare) is cls
        assert bare.code == code


def test_fastapi_prose_detail_recovers_the_code() -> None:
    err = E.error_from_response(400, {"detail": "Insufficient credits: need 96, have 3"})
    assert isinstance(err, E.InsufficientCreditsError)
    assert "https://kubeez.com/billing" in str(err)
    err = E.error_from_response(404, {"detail": "Model 'nano-banana-9' not found"})
    assert isinstance(err, E.ModelNotFoundError)
    assert "client.catalog()" in str(err)


def test_fastapi_422_list_names_fields() -> None:
    body = {
        "detail": [
            {"loc": ["body", "prompt"], "msg": "field required", "type": "missing"},
            {"loc": ["body", "aspect_ratio"], "msg": "bad value"},
        ]
    }
    err = E.error_from_response(422, body)
    assert isinstance(err, E.BadRequestError)
    assert "prompt: field required" in err.message
    assert "aspect_ratio: bad value" in err.message
    assert err.body == body


def test_missing_field_and_scope_are_named() -> None:
    err = E.error_from_response(
        400, {"error": "missing_source_task_id", "message": "source_task_id is required"}
    )
    assert isinstance(err, E.MissingFieldError)
    assert err.field == "source_task_id"
    assert "source_task_id" in err.hint

    err = E.error_from_response(
        403, {"error": "missing_scope", "message": "This key needs generate:music"}
    )
    assert isinstance(err, E.MissingScopeError)
    assert err.scope == "generate:music"
    assert "generate:music" in str(err) and "settings/api-keys" in str(err)

    err = E.error_from_response(403, {"detail": "forbidden", "required_scope": "read:balance"})
    assert isinstance(err, E.PermissionDeniedError)


def test_rate_limit_retry_after_from_body_or_header() -> None:
    err = E.error_from_response(
        429, {"error": "rate_limit_exceeded", "message": "slow down", "retry_after": 7}
    )
    assert err.retry_after == 7
    assert "wait 7 s" in str(err)
    err = E.error_from_response(429, {"error": "rate_limit_exceeded"}, {"Retry-After": "2.5"})
    assert err.retry_after == 2.5
    err = E.error_from_response(429, "Too Many Requests", {"retry-after": "3"})
    assert isinstance(err, E.RateLimitError) and err.retry_after == 3
    assert err.retryable


def test_non_json_bodies_keep_text_and_stay_readable() -> None:
    page = (
        "<html><head><title>502 Bad Gateway</title></head><body>" + "x" * 50_000 + "</body></html>"
    )
    err = E.error_from_response(502, page)
    assert isinstance(err, E.ServerError)
    assert "502 Bad Gateway" in err.message
    assert len(err.message) < 300
    assert isinstance(err.body, str) and err.body.startswith("<html>")
    assert len(err.body) <= 10_000  # kept, but capped
    err = E.error_from_response(500, b"")
    assert isinstance(err, E.ServerError) and err.message
    err = E.error_from_response(418, None)
    assert type(err) is E.APIError


def test_response_format_error_explains_what_came_back() -> None:
    err = E.response_format_error(200, "<!doctype html><title>Login</title>", "JSON")
    assert isinstance(err, E.ResponseFormatError)
    assert "Expected JSON" in str(err) and "Login" in str(err)
    assert "base_url" in str(err)


def test_keys_never_reach_messages() -> None:
    key = "sk_live_abcdefghijklmnop1234"
    err = E.error_from_response(401, {"error": "unauthorized", "message": f"key {key} is revoked"})
    assert isinstance(err, E.AuthenticationError)
    assert key not in str(err) and key not in repr(err) and key not in str(err.body)
    assert "sk_live_***" in str(err)
    assert "KUBEEZ_API_KEY" in str(err)


def test_connection_errors_catchable_as_builtins() -> None:
    err = E.APITimeoutError("read timed out after 60 s")
    assert isinstance(err, E.APIConnectionError)
    assert (
        isinstance(err, TimeoutError)
        and isinstance(err, ConnectionError)
        and isinstance(err, OSError)
    )
    assert err.retryable
    assert "timeout" in str(err)
    again = pickle.loads(pickle.dumps(err))
    assert (
        type(again) is E.APITimeoutError and again.message == err.message and again.hint == err.hint
    )
    with pytest.raises(ConnectionError):
        raise E.APIConnectionError("connection refused")


def test_validation_error_lists_every_problem() -> None:
    problems = [
        E.Problem(
            "aspect_ratio",
            "7:3",
            ["1:1", "16:9"],
            "'7:3' is not offered; choose one of 1:1, 16:9",
            "unsupported_aspect",
        ),
        E.Problem("prompt", "25000 characters", "at most 20000 characters", "is too long"),
    ]
    err = E.ValidationError(problems, model="nano-banana-2")
    assert isinstance(err, ValueError)
    text = str(err)
    assert text.splitlines()[0] == "2 problems with the request for nano-banana-2:"
    assert "  - aspect_ratio: '7:3' is not offered; choose one of 1:1, 16:9" in text.splitlines()
    assert "  - prompt: is too long" in text.splitlines()
    assert err.fields == ["aspect_ratio", "prompt"]
    assert str(problems[0]) == "aspect_ratio: '7:3' is not offered; choose one of 1:1, 16:9"


def test_client_side_refusals_say_what_to_do() -> None:
    c = E.ConfirmationRequired(estimate=480, threshold=100)
    assert "480" in str(c) and "100" in str(c) and "confirm=True" in str(c)
    b = E.BudgetExceededError(estimate=50, budget=100, spent=80)
    assert "budget" in str(b) and "50" in str(b)
    j = E.JobFailedError(job_id="g-1", job_status="failed")
    assert "g-1" in str(j) and j.hint in str(j)
    assert not j.retryable and E.ServerError("x").retryable


def test_insufficient_credits_is_never_retryable() -> None:
    for status in (400, 402):
        err = E.error_from_response(status, {"error": "insufficient_credits", "message": "no"})
        assert isinstance(err, E.InsufficientCreditsError)
        assert not err.retryable


PROSE_DETAILS = [
    (
        400,
        "This request costs 96 credits but the balance is 3. Top up at https://kubeez.com/billing.",
        E.InsufficientCreditsError,
    ),
    (
        403,
        "This key lacks the scope 'generate:music'; rotate a key that has it.",
        E.MissingScopeError,
    ),
    (404, "Model 'nano-banana-9' is unknown or disabled.", E.ModelNotFoundError),
    (404, "No generation with this id.", E.NotFoundError),
    (
        409,
        "An asset named 'logo' already exists; pick another name or rename it.",
        E.NameTakenError,
    ),
    (
        413,
        "The upload is 600000000 bytes; the limit is 524288000 bytes (500 MB) per request.",
        E.FileTooLargeError,
    ),
    (
        413,
        "Adding 9 bytes would exceed the asset library quota (1 of 2 bytes used).",
        E.QuotaExceededError,
    ),
    (502, "Could not fetch https://example.com/x.png: HTTP 404.", E.FetchFailedError),
    (
        400,
        "aspect_ratio: '7:3' is not offered by nano-banana-2; choose one of 1:1, 16:9",
        E.UnsupportedAspectError,
    ),
    (
        400,
        "source_task_id: is required: give the source_task_id of a completed clip",
        E.MissingFieldError,
    ),
    (400, "prompt: is 401 characters long; V5 takes at most 400.", E.BadRequestError),
    (429, "Too many requests.", E.RateLimitError),
]


@pytest.mark.parametrize(("status", "detail", "cls"), PROSE_DETAILS)
def test_prose_detail_bodies_map_by_status_and_wording(status: int, detail: str, cls: type) -> None:
    err = E.error_from_response(status, {"detail": detail}, {"Retry-After": "1"})
    assert type(err) is cls
    assert err.message == detail
    if cls is E.MissingScopeError:
        assert err.scope == "generate:music"
    if cls is E.MissingFieldError:
        assert err.field == "source_task_id"
    if cls is E.RateLimitError:
        assert err.retry_after == 1.0


def test_emulator_error_bodies_in_both_styles(fresh_emulator: object) -> None:
    import requests

    emu = fresh_emulator
    url, key = emu.url, emu.api_key  # type: ignore[attr-defined]
    for detail in (False, True):
        emu.set_knobs(detail_errors=detail, credits_error_status=400)  # type: ignore[attr-defined]
        r = requests.post(
            url + "/v1/generate/media",
            json={"model": "nano-banana-2", "prompt": "x", "aspect_ratio": "7:3"},
            headers={"X-API-Key": key},
            timeout=10,
        )
        err = E.error_from_response(r.status_code, r.json(), r.headers)
        assert isinstance(err, E.UnsupportedAspectError), (detail, r.text)
        r = requests.post(
            url + "/v1/generate/media",
            json={"model": "nano-banana-9", "prompt": "x"},
            headers={"X-API-Key": key},
            timeout=10,
        )
        assert isinstance(
            E.error_from_response(r.status_code, r.json(), r.headers), E.ModelNotFoundError
        )
        r = requests.get(
            url + "/v1/balance", headers={"X-API-Key": "sk_live_wrongwrongwrong"}, timeout=10
        )
        err = E.error_from_response(r.status_code, r.json(), r.headers)
        assert isinstance(err, E.AuthenticationError) and "wrongwrongwrong" not in str(err)
