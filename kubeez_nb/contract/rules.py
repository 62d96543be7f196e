"""Request validation against a model's capabilities, per request kind.

``validate(model, kind, params)`` returns *every* problem of a request at once (field, value
given, values allowed) so the client can refuse it before any HTTP request; ``normalize`` puts
values in the catalog's own forms; ``build_body`` turns valid params into the wire body
(``"5s"``); ``extend_problems`` says why a clip cannot be extended. The body fields of each kind
come from :mod:`kubeez_nb.contract.kinds`; unknown ``<name>_options`` lists are checked
generically.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubeez_nb.contract.catalog import Catalog, Model, _input_driven, _int_or_none, suggest
from kubeez_nb.contract.checks import (
    _Checker,
    _fmt,
    _fmt_options,
    _is_number,
    _looks_like_url,
    _match_duration,
    _match_option,
    split_sources,
    text_problems,
)
from kubeez_nb.contract.kinds import (
    AD_VARIANT_RANGE,
    CAPTION_QUALITIES,
    DIALOGUE_SPEED_RANGE,
    EXTEND_MODELS,
    KINDS,
    MEDIA_KINDS,
    MUSIC_ADVANCED_FIELDS,
    VOCAL_GENDERS,
)
from kubeez_nb.errors import Problem, ValidationError

# Body fields of each route (the kinds table). Fields named by a model's capabilities
# (``<name>_options``) or by its usage_notes are accepted on top of these.
_FIELDS: dict[str, tuple[str, ...]] = {k.name: k.field_names for k in KINDS.values()}
# Routes whose wire body carries no ``model`` (the server picks it); normalize() drops it there.
_NO_MODEL_IN_BODY = frozenset(k.name for k in KINDS.values() if not k.model_in_body)
_MEDIA_FIELDS = _FIELDS["media"]
#: video_audio policies under which the model takes no ``sound`` field at all.
_NO_SOUND_PARAM = frozenset({"included", "silent"})


# ---------------------------------------------------------------------------------------------
# Per-route rules
# ---------------------------------------------------------------------------------------------


def _check_model_route(c: _Checker) -> None:
    m = c.model
    if m is None or c.kind == "extend":
        return
    if m.endpoint != c.kind:
        c.add(
            "model",
            m.id,
            c.kind,
            f"{m.id} is used through /v1/generate/{m.endpoint}, not /v1/generate/{c.kind}",
        )


def _check_media(c: _Checker) -> None:
    m = c.model
    assert m is not None
    caps = m.capabilities
    options = caps.options()
    known = list(_MEDIA_FIELDS) + [k for k in options if k not in _MEDIA_FIELDS]

    # A text-driven request is its prompt; only a request built from source media may omit it.
    c.text("prompt", caps.prompt_max_chars, required=not c.params.get("source_media_urls"),
           what="a prompt describing what to generate")  # fmt: skip

    # Every <name>_options list: aspect_ratio, duration, resolution, quality and unknown ones.
    for fld, opts in options.items():
        value = c.params.get(fld)
        if value is None:
            continue
        if not opts:
            what = (
                "the duration is fixed by the model"
                if fld == "duration"
                else f"{fld} is fixed by the model"
            )
            c.add(fld, value, [], f"{what} ({m.id} has no {fld} setting); leave {fld} out")
            continue
        if fld == "duration":
            if _match_duration(value, opts) is None:
                c.add(
                    fld,
                    value,
                    opts,
                    f"{_fmt(value)} is not offered by {m.id}; choose {_fmt_options(opts, m.duration_range)}",
                )
            continue
        c.choice(
            fld, opts, code="unsupported_aspect" if fld == "aspect_ratio" else "invalid_request"
        )

    _check_sound(c)
    if c.params.get("negative_prompt") is not None:
        if caps.supports_negative_prompt:
            c.text("negative_prompt", caps.prompt_max_chars)
        else:
            c.add(
                "negative_prompt",
                c.params["negative_prompt"],
                None,
                f"{m.id} does not take a negative_prompt; leave it out",
            )

    gtype = c.params.get("generation_type")
    if gtype is not None and m.generation_types:
        c.choice("generation_type", m.generation_types)

    _check_sources(c)
    c.unknown_fields(known, _media_fields_taken(m))


def _media_fields_taken(m: Model) -> list[str]:
    """The media body fields this model really takes (for "accepted: ..." messages)."""
    caps = m.capabilities
    out = ["model", "prompt"]
    out += list(m.option_fields)
    if caps.video_audio == "toggle_via_sound_param" or (
        caps.video_audio is None and caps.supports_sound
    ):
        out.append("sound")
    if caps.supports_negative_prompt:
        out.append("negative_prompt")
    if m.accepts_sources:
        out.append("source_media_urls")
    if m.generation_types:
        out.append("generation_type")
    return out


def _check_sound(c: _Checker) -> None:
    m = c.model
    assert m is not None
    value = c.params.get("sound")
    if value is None:
        return
    policy = m.capabilities.video_audio
    if not isinstance(value, bool):
        c.add("sound", value, [True, False], f"{_fmt(value)} is not a boolean; give True or False")
        return
    if policy == "silent" and value:
        c.add(
            "sound", value, [False], f"{m.id} makes silent video only; leave sound out (or False)"
        )
    elif policy == "included" and not value:
        c.add(
            "sound",
            value,
            [True],
            f"{m.id} always includes audio and takes no sound switch; leave sound out",
        )
    elif policy is None and not m.capabilities.supports_sound and value:
        c.add("sound", value, [], f"{m.id} has no sound setting; leave sound out")


def _check_sources(c: _Checker, fld: str = "source_media_urls") -> None:
    m = c.model
    assert m is not None
    raw = c.params.get(fld)
    sources, bad = split_sources(raw)
    for item in bad:
        c.add(
            fld,
            item,
            "URL strings or {'url': ..., 'type': 'image'|'video'|'audio'}",
            f"{_fmt(item)} is not a URL",
        )
    for s in sources:
        if not _looks_like_url(s.url):
            c.add(
                fld,
                s.url,
                "public http(s) URLs",
                f"{_fmt(s.url)} is not a URL (upload a local file first with client.upload(path))",
            )

    limits = m.media_limits
    accepted = [k for k in MEDIA_KINDS if limits[k] > 0]
    gtype = c.params.get("generation_type")
    needs = m.needs_input_media or (
        isinstance(gtype, str) and _input_driven(gtype) and bool(accepted)
    )
    if needs and not sources and not bad:
        kinds = "/".join(accepted or m.input_media_types or ["media"])
        c.add(
            fld,
            raw,
            accepted,
            f"{m.id} needs input media: put {kinds} URL(s) in {fld}",
            code=f"missing_{fld}",
        )
    if not sources:
        return

    counts = dict.fromkeys(MEDIA_KINDS, 0)
    unknown: list[str] = []
    for s in sources:
        kind = s.kind
        if kind is None and len(accepted) == 1:
            kind = accepted[0]  # a model that takes one kind only: nothing to tell apart
        if kind is None:
            unknown.append(s.url)
        else:
            counts[kind] += 1
    for kind in MEDIA_KINDS:
        n, cap = counts[kind], limits[kind]
        if n > cap:
            what = (
                f"takes at most {cap} {kind}{'s' if cap != 1 else ''}"
                if cap
                else f"takes no {kind} input"
            )
            c.add(fld, n, cap, f"{n} {kind} URL{'s' if n != 1 else ''} given; {m.id} {what}")
    if unknown:
        c.add(
            fld,
            unknown,
            accepted,
            f"cannot tell the media type of {', '.join(_fmt(u) for u in unknown[:3])}; "
            f"give it as {{'url': ..., 'type': {'|'.join(accepted) or 'image'}}}",
        )


def _check_music(c: _Checker) -> None:
    m = c.model
    cap = m.capabilities.prompt_max_chars if m else None
    p = c.params
    advanced = any(p.get(f) is not None for f in MUSIC_ADVANCED_FIELDS)
    for fld in ("title", "style", "lyrics", "song_description", "negative_tags"):
        c.text(fld, None)
    if advanced:
        if (p.get("title") is None) != (p.get("style") is None):
            missing = "style" if p.get("style") is None else "title"
            c.add(
                missing,
                None,
                "title and style together",
                f"advanced mode takes title and style as a pair: add {missing} or drop both",
                code=f"missing_{missing}",
            )
        n = sum(p.get(f) is not None for f in ("lyrics", "song_description"))
        if n != 1:
            given = [f for f in ("lyrics", "song_description") if p.get(f) is not None]
            c.add(
                "lyrics",
                given or None,
                ["lyrics", "song_description"],
                "advanced mode takes exactly one of lyrics or song_description"
                + (" (both given)" if n == 2 else ": add one"),
            )
        c.choice("vocal_gender", VOCAL_GENDERS)
        if p.get("instrumental") is True and p.get("lyrics") is not None:
            c.add(
                "instrumental",
                True,
                [False],
                "an instrumental song has no lyrics: drop lyrics or instrumental",
            )
        c.text("prompt", None)
    else:
        c.text(
            "prompt",
            cap,
            required=True,
            what=f"a song description of at most {cap} characters" if cap else "a prompt",
        )
    c.boolean("instrumental")
    for fld in ("style_weight", "weirdness_constraint", "audio_weight"):
        c.number(fld, 0.0, 1.0)
    if m is not None and (p.get("source_media_urls") is not None or m.requires_input_media):
        _check_sources(c)
    c.unknown_fields(_FIELDS["music"])


def _check_dialogue(c: _Checker, voices: list[str]) -> None:
    m = c.model
    cap = m.capabilities.prompt_max_chars if m else None
    c.text(
        "text",
        cap,
        required=True,
        what=f"the words to speak (at most {cap} characters)" if cap else "the words to speak",
    )
    voice = c.params.get("voice")
    if voice is not None and voices and _match_option(voice, voices) is None:
        close = suggest(str(voice), voices, n=1) if isinstance(voice, str) else []
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        c.add(
            "voice",
            voice,
            list(voices),
            f"{_fmt(voice)} is not an available voice{hint}; choose one of {', '.join(voices)}",
        )
    elif voice is not None and not isinstance(voice, str):
        c.add("voice", voice, list(voices), f"{_fmt(voice)} is not a voice name")
    for fld in ("stability", "similarity_boost", "style"):
        c.number(fld, 0.0, 1.0)
    c.number("speed", *DIALOGUE_SPEED_RANGE)
    c.text("language_code", 16)
    c.unknown_fields(_FIELDS["dialogue"])


def _check_captions(c: _Checker) -> None:
    c.url("media_url", required=True, what="the URL of the video or audio to transcribe")
    c.choice("quality", CAPTION_QUALITIES)
    if c.params.get("quality") == "best" and not c.params.get("language"):
        c.add(
            "language",
            None,
            "a language code such as 'en'",
            "quality 'best' needs the language: add language='en' (or use quality 'auto')",
            code="missing_language",
        )
    c.text("language", 16)
    c.boolean("code_switching")
    c.unknown_fields(_FIELDS["captions"])


def _check_separation(c: _Checker) -> None:
    c.url("media_url", required=True, what="the URL of the audio track to split")
    c.unknown_fields(_FIELDS["separation"])


def _check_ad_copy(c: _Checker) -> None:
    m = c.model
    c.url("reference_ad_url", required=True, what="the URL of the ad to take after")
    c.url("product_image_url")
    c.text("product_text", m.capabilities.prompt_max_chars if m else None)
    c.number("variant_count", *AD_VARIANT_RANGE, integer=True)
    if m is not None:
        opts = m.capabilities.aspect_ratio_options
        if opts:
            c.choice("aspect_ratio", opts, code="unsupported_aspect")
    c.text("language", 16)
    c.unknown_fields(_FIELDS["ad-copy"])


def _check_extend(c: _Checker) -> None:
    m = c.model
    c.required("source_task_id", "the source_task_id of a completed Veo 3.1 clip")
    if c.params.get("source_task_id") is not None and not isinstance(
        c.params["source_task_id"], str
    ):
        c.add("source_task_id", c.params["source_task_id"], "a task id string", "is not a task id")
    c.text(
        "prompt",
        m.capabilities.prompt_max_chars if m else None,
        required=True,
        what="a prompt for the continuation",
    )
    c.choice("extend_model", EXTEND_MODELS)
    c.unknown_fields(_FIELDS["extend"])


def validate(
    model: Model | None,
    kind: str | None = "media",
    params: Mapping[str, Any] | None = None,
    *,
    voices: list[str] | None = None,
) -> list[Problem]:
    """Every problem of a request body for ``model`` on route ``kind`` (empty list = valid).

    ``params`` are the body fields (``model`` may be included or not). ``kind`` None means the
    model's own route. ``voices`` overrides the dialogue allowlist (default: the model's).
    Values of the wrong type are reported as problems, never raised.
    """
    params = dict(params or {})
    if kind is None:
        kind = model.endpoint if model else "media"
    c = _Checker(model, kind, params)
    if kind not in KINDS:
        c.add(
            "kind",
            kind,
            list(KINDS),
            f"{kind!r} is not a request kind; choose one of {', '.join(KINDS)}",
        )
        return c.problems
    given_model = params.get("model")
    if (
        model is not None
        and given_model is not None
        and given_model != model.id
        and kind not in _NO_MODEL_IN_BODY
    ):
        c.add(
            "model",
            given_model,
            model.id,
            f"the body names {given_model!r} but the request was checked for {model.id}",
        )
    _check_model_route(c)
    if kind == "media":
        if model is None:
            c.add("model", None, "a model id from the catalog", "is required", code="missing_model")
        else:
            _check_media(c)
    elif kind == "music":
        _check_music(c)
    elif kind == "dialogue":
        _check_dialogue(
            c, voices if voices is not None else (model.voice_allowlist if model else [])
        )
    elif kind == "captions":
        _check_captions(c)
    elif kind == "separation":
        _check_separation(c)
    elif kind == "ad-copy":
        _check_ad_copy(c)
    elif kind == "extend":
        _check_extend(c)
    # NUL / lone surrogates, whatever the route (after the field's own problems, if any)
    return c.problems + text_problems(params)


def normalize(
    model: Model | None, kind: str | None = "media", params: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The wire body: None values dropped, options in the catalog's own spelling (``"5s"``,
    ``"4K"``, ``"Rachel"``), ``source_media_urls`` as a list of URL strings, ``model`` first
    where the route takes one. Assumes ``validate`` found no problems."""
    params = {k: v for k, v in (params or {}).items() if v is not None}
    if kind is None:
        kind = model.endpoint if model else "media"
    body: dict[str, Any] = {}
    if model is not None and kind not in _NO_MODEL_IN_BODY:
        body["model"] = model.id
    params.pop("model", None)
    options = model.capabilities.options() if model else {}
    if kind == "ad-copy":
        options = {"aspect_ratio": options.get("aspect_ratio", [])}
    elif kind not in ("media",):
        options = {}
    for key, value in params.items():
        opts = options.get(key)
        if opts:
            matched = (
                _match_duration(value, opts) if key == "duration" else _match_option(value, opts)
            )
            value = matched if matched is not None else value
        elif key == "voice" and model is not None and model.voice_allowlist:
            matched = _match_option(value, model.voice_allowlist)
            value = matched if matched is not None else value
        elif key == "source_media_urls":
            sources, _ = split_sources(value)
            value = [s.url for s in sources]
        elif key == "variant_count" and _is_number(value):
            value = int(value)
        elif (
            key == "sound"
            and model is not None
            and model.capabilities.video_audio in _NO_SOUND_PARAM
        ):
            continue  # the model takes no sound parameter; its audio policy is fixed
        body[key] = value
    if kind == "media" and model is not None and "generation_type" not in body:
        # The guide's own example names image-to-image when it sends references: do the same.
        implied = model.default_generation_type(bool(body.get("source_media_urls")))
        if implied:
            body["generation_type"] = implied
    return body


def build_body(
    model: Model | None,
    kind: str | None = "media",
    params: Mapping[str, Any] | None = None,
    *,
    voices: list[str] | None = None,
) -> dict[str, Any]:
    """``validate`` + ``normalize``: the wire body, or ``ValidationError`` listing every problem."""
    problems = validate(model, kind, params, voices=voices)
    if problems:
        raise ValidationError(problems, model=model.id if model else None)
    return normalize(model, kind, params)


# ---------------------------------------------------------------------------------------------
# Extend
# ---------------------------------------------------------------------------------------------


def extend_problems(
    source: Mapping[str, Any] | None,
    extend_model: str | None = "fast",
    *,
    catalog: Catalog | Mapping[str, Model] | None = None,
) -> list[Problem]:
    """The extend rules the client can check from the source job's status row.

    The source must be a completed clip of a model whose cost note names the extend route (Veo 3.1
    in today's catalog; checked when ``catalog`` is given), must carry a ``source_task_id``, must
    not itself be an extend, and must not be a 1080p output.
    """
    problems: list[Problem] = []
    if extend_model is not None and extend_model not in EXTEND_MODELS:
        problems.append(
            Problem(
                "extend_model",
                extend_model,
                list(EXTEND_MODELS),
                f"{_fmt(extend_model)} is not an extend model; choose one of {', '.join(EXTEND_MODELS)}",
            )
        )
    if source is None:
        return problems
    sid = source.get("id") or source.get("generation_id") or "the source"
    model_id = source.get("model")
    if catalog is not None and isinstance(model_id, str):
        model = catalog.get(model_id)
        if model is None or not model.extendable:
            allowed = [m.id for m in catalog.values() if m.extendable]
            problems.append(
                Problem(
                    "source_task_id",
                    model_id,
                    allowed,
                    f"{sid} was made with {model_id}, which cannot be extended; only these models can: {', '.join(allowed) or 'none'}",
                )
            )
    status = str(source.get("status") or "").lower()
    if status and status != "completed":
        problems.append(
            Problem(
                "source_task_id",
                status,
                ["completed"],
                f"{sid} is {status}; wait until it is completed, then extend it",
            )
        )
    elif not source.get("source_task_id"):
        problems.append(
            Problem(
                "source_task_id",
                None,
                "a source_task_id from the source clip's status",
                f"{sid} carries no source_task_id (only completed extendable clips do)",
                code="missing_source_task_id",
            )
        )
    if _is_extend_row(source):
        problems.append(
            Problem(
                "source_task_id",
                sid,
                "an original clip",
                f"{sid} is itself an extend; extend the original clip instead",
            )
        )
    if _is_1080p(source):
        problems.append(
            Problem(
                "source_task_id",
                "1080p",
                "a 720p clip",
                f"{sid} is a 1080p output, which cannot be extended; extend a 720p clip",
            )
        )
    return problems


def _is_extend_row(row: Mapping[str, Any]) -> bool:
    for key in ("kind", "generation_type", "type", "mode"):
        value = row.get(key)
        if isinstance(value, str) and "extend" in value.lower():
            return True
    return bool(row.get("extend_model") or row.get("is_extend"))


def _is_1080p(row: Mapping[str, Any]) -> bool:
    res = row.get("resolution")
    if isinstance(res, str) and res.lower().startswith("1080"):
        return True
    outputs = row.get("outputs")
    if isinstance(outputs, list):
        for out in outputs:
            if isinstance(out, Mapping):
                w, h = _int_or_none(out.get("width")), _int_or_none(out.get("height"))
                if w and h and min(w, h) >= 1080:
                    return True
    return False


__all__ = ["build_body", "extend_problems", "normalize", "validate"]
