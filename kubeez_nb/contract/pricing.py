"""Cost estimates, read from each model's ``cost_note`` and ``cost_per_generation``.

The formula is data: ``estimate()`` recognises the shapes a cost note can take (flat, flat by
tier, per second with or without a sound surcharge, per second by tier, reference-video
surcharge, per minute, per second of input media, per variant, extend) and never looks at model
ids. The emulator bills with this same function, passing the measured ``output_seconds`` /
``ref_seconds`` / ``audio_seconds`` / ``media_seconds``, so an estimate equals the charge
whenever the inputs are known. A note this module cannot read falls back to
``cost_per_generation``, marked approximate.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kubeez_nb._config import EXTEND_PRICES
from kubeez_nb.contract.catalog import Model
from kubeez_nb.contract.checks import split_sources
from kubeez_nb.contract.htmltable import amount
from kubeez_nb.contract.wire import seconds as parse_seconds

_NUM = r"(\d+(?:\.\d+)?)"


@dataclass(frozen=True)
class Estimate:
    """The credits a request will cost, with the formula in words.

    ``float(est)`` is the credits. ``approximate`` is True when something the price depends on
    is not known before the job runs (a reference clip's length, the audio's length).
    """

    credits: float
    breakdown: str
    approximate: bool = False
    model_id: str = ""
    #: ``flat`` | ``per_second`` | ``per_minute`` | ``per_variant`` | ``extend``
    billing: str = "flat"
    #: What the figure assumed where the request did not say (default duration, sound on, ...).
    assumptions: tuple[str, ...] = field(default=())

    def __float__(self) -> float:
        return float(self.credits)

    def __int__(self) -> int:
        return math.ceil(self.credits)

    def __add__(self, other: object) -> float:
        if isinstance(other, (Estimate, int, float)):
            return self.credits + float(other)
        return NotImplemented

    __radd__ = __add__

    def __str__(self) -> str:
        mark = "≈ " if self.approximate else ""
        text = f"{mark}{_num(self.credits)} credits ({self.breakdown})"
        if self.assumptions:
            text += "; assumes " + ", ".join(self.assumptions)
        return text

    def __repr__(self) -> str:
        mark = "≈ " if self.approximate else ""
        model = f"{self.model_id}: " if self.model_id else ""
        return f"Estimate({model}{mark}{amount(self.credits)} credits)"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/plain": repr(self), "text/html": self._repr_html_()}

    def _repr_html_(self) -> str:
        mark = "≈ " if self.approximate else ""
        extra = (
            f"<br><small>assumes {html.escape(', '.join(self.assumptions))}</small>"
            if self.assumptions
            else ""
        )
        return (
            f"<span class='kubeez-estimate'><b>{mark}{amount(self.credits)} credits</b> "
            f"<small>{html.escape(self.model_id)}: {html.escape(self.breakdown)}</small>{extra}</span>"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "credits": self.credits,
            "breakdown": self.breakdown,
            "approximate": self.approximate,
            "model_id": self.model_id,
            "billing": self.billing,
            "assumptions": list(self.assumptions),
        }


def _num(x: float) -> str:
    """12 → "12", 42.7 → "42.7", 0.1+0.2 → "0.3"."""
    return f"{round(x, 4):g}" if abs(x) < 1e15 else f"{x:.0f}"


def _round(x: float) -> float:
    return round(x, 6)


# ---------------------------------------------------------------------------------------------
# Reading a cost note
# ---------------------------------------------------------------------------------------------


def extend_prices(model: Model | None = None) -> dict[str, float]:
    """Extend prices by ``extend_model``: from the model's cost note when it lists them
    ("lite 45 / fast 75 / quality 300"), else the guide's documented prices."""
    if model is not None and "extend" in model.cost_note:
        found = dict(re.findall(rf"\b(lite|fast|quality)\s+{_NUM}", model.cost_note))
        if found:
            return {k: float(v) for k, v in found.items()}
    return dict(EXTEND_PRICES)


def default_seconds(model: Model) -> float | None:
    """The clip length ``cost_per_generation`` is quoted for (``Model.quoted_seconds``)."""
    return model.quoted_seconds


def _quoted_ref_seconds(note: str) -> float | None:
    m = re.search(rf"with an?\s+{_NUM}\s*s\s+reference", note)
    return float(m.group(1)) if m else None


def _pairs(text: str) -> list[tuple[str, float]]:
    """``"720p 4, 720p-draft 1"`` → [("720p", 4.0), ("720p-draft", 1.0)]."""
    out = []
    for item in re.split(r",\s*|;\s*", text):
        m = re.fullmatch(rf"\s*(.+?)\s+{_NUM}\s*(?:credits?)?\s*", item)
        if m:
            out.append((m.group(1).strip(), float(m.group(2))))
    return out


def _field_for(model: Model, key: str) -> tuple[str, str] | None:
    """Which body field an option value like ``"1080p"`` / ``"4K"`` / ``"5 s"`` belongs to."""
    sec = re.fullmatch(rf"{_NUM}\s*s", key)
    if sec:
        return ("duration", sec.group(1))
    for fld, opts in model.capabilities.options().items():
        for opt in opts:
            if opt.lower() == key.lower():
                return (fld, opt)
    return None


def _param_value(model: Model, fld: str, params: Mapping[str, Any]) -> str | None:
    value = params.get(fld)
    if value is None:
        return None
    if fld == "duration":
        sec = parse_seconds(value)
        return None if sec is None else f"{sec:g}"
    opts = model.capabilities.options().get(fld) or []
    for opt in opts:
        if opt.lower() == str(value).lower():
            return opt
    return str(value)


@dataclass
class _Tier:
    keys: dict[str, str]  # field -> value ("duration" -> "5", "resolution" -> "720p")
    price: float
    label: str


def _tiers(model: Model, text: str) -> list[_Tier]:
    tiers = []
    for label, price in _pairs(text):
        keys: dict[str, str] = {}
        # "5 s 1080p" → ["5 s", "1080p"]; "720p-draft" stays one token
        for token in re.findall(r"\d+(?:\.\d+)?\s*s\b|[^\s]+", label):
            hit = _field_for(model, token)
            if hit is None:
                keys = {}
                break
            keys[hit[0]] = hit[1] if hit[0] != "duration" else f"{float(hit[1]):g}"
        if keys:
            tiers.append(_Tier(keys, price, label))
    return tiers


def _pick_tier(
    model: Model, tiers: list[_Tier], params: Mapping[str, Any], default_price: float | None
) -> tuple[_Tier | None, list[str]]:
    """The tier the params select; unspecified fields take the default tier's value."""
    default = next(
        (t for t in tiers if default_price is not None and t.price == default_price), None
    )
    default = default or (tiers[0] if tiers else None)
    if default is None:
        return None, []
    wanted: dict[str, str] = {}
    assumed: list[str] = []
    for fld, dval in default.keys.items():
        given = _param_value(model, fld, params)
        if given is None:
            wanted[fld] = dval
            shown = f"{dval} s" if fld == "duration" else dval
            assumed.append(f"{fld} {shown} (the default tier)")
        else:
            wanted[fld] = given
    for t in tiers:
        if t.keys == wanted:
            return t, assumed
    return None, assumed


# ---------------------------------------------------------------------------------------------
# estimate()
# ---------------------------------------------------------------------------------------------


def estimate(
    model: Model | None,
    kind: str | None = "media",
    params: Mapping[str, Any] | None = None,
    *,
    output_seconds: float | None = None,
    ref_seconds: float | None = None,
    audio_seconds: float | None = None,
    media_seconds: float | None = None,
) -> Estimate:
    """Credits for one request of ``kind`` to ``model`` with body ``params``.

    The ``*_seconds`` arguments are what the server measures (the emulator passes them when it
    bills); without them the estimate uses the requested ``duration`` or the length the catalog
    price is quoted for, and says so. Never raises on an unfamiliar cost note.
    """
    params = {k: v for k, v in (params or {}).items() if v is not None}
    if kind is None:
        kind = model.endpoint if model else "media"
    if kind == "extend":
        return _extend(model, params)
    if model is None:
        return Estimate(0.0, "no model given", True, "", "flat")
    note = model.cost_note
    for reader in _READERS:
        est = reader(
            model,
            note,
            params,
            output_seconds=output_seconds,
            ref_seconds=ref_seconds,
            audio_seconds=audio_seconds,
            media_seconds=media_seconds,
        )
        if est is not None:
            return est
    return Estimate(
        model.cost_per_generation,
        f"catalog price per generation; the cost note could not be read: {note[:120]!r}"
        if note
        else "catalog price per generation (no cost note)",
        approximate=bool(note),
        model_id=model.id,
        billing="flat",
    )


def _billed(
    model: Model,
    billing: str,
    total: float,
    formula: str,
    approximate: bool = False,
    assumed: tuple[str, ...] | list[str] = (),
) -> Estimate:
    """An estimate whose breakdown is ``formula = total``."""
    total = _round(total)
    return Estimate(
        total, f"{formula} = {_num(total)}", approximate, model.id, billing, tuple(assumed)
    )


def _extend(model: Model | None, params: Mapping[str, Any]) -> Estimate:
    prices = extend_prices(model)
    choice = params.get("extend_model")
    assumed: tuple[str, ...] = ()
    if choice is None:
        choice = "fast"
        assumed = ("extend_model 'fast' (the default)",)
    price = prices.get(str(choice))
    listed = ", ".join(f"{k} {_num(v)}" for k, v in prices.items())
    if price is None:
        return Estimate(
            max(prices.values()),
            f"unknown extend_model {choice!r}; extend prices: {listed}",
            True,
            model.id if model else "",
            "extend",
        )
    return Estimate(
        price,
        f"flat extend price for {choice}: {_num(price)} (extend prices: {listed})",
        False,
        model.id if model else "",
        "extend",
        assumed,
    )


def _seconds_for(
    model: Model, params: Mapping[str, Any], output_seconds: float | None
) -> tuple[float, list[str], bool]:
    """(seconds, assumptions, approximate) for a per-second-of-output model."""
    if output_seconds is not None:
        return float(output_seconds), [], False
    sec = parse_seconds(params.get("duration"))
    if sec is not None:
        return sec, [], False
    default = default_seconds(model)
    if default is None and model.duration_seconds:
        default = float(model.duration_seconds[0])
    if default is None:
        default = 5.0
    return (
        default,
        [f"duration {_num(default)} s (the length the catalog price is quoted for)"],
        True,
    )


def _has_kind(params: Mapping[str, Any], kind: str) -> bool | None:
    """Whether source_media_urls holds a ``kind`` URL (None when no sources were given)."""
    if params.get("source_media_urls") is None:
        return None
    sources, _ = split_sources(params.get("source_media_urls"))
    return any(s.kind == kind for s in sources)


def _read_per_minute(
    model: Model, note: str, params: Mapping[str, Any], **kw: Any
) -> Estimate | None:
    m = re.search(rf"{_NUM}\s*credits?\s*/\s*min", note)
    if not m:
        return None
    rate = float(m.group(1))
    seconds = kw.get("media_seconds")
    if seconds is None:
        seconds = kw.get("audio_seconds")
    if seconds is None:
        return Estimate(
            rate,
            f"{_num(rate)} credits/min × 1 min = {_num(rate)}",
            True,
            model.id,
            "per_minute",
            ("one minute of audio (the server measures the length; started minutes round up)",),
        )
    minutes = max(1, math.ceil(float(seconds) / 60.0 - 1e-9))
    return _billed(
        model,
        "per_minute",
        rate * minutes,
        f"{_num(rate)} credits/min × {minutes} min ({_num(float(seconds))} s, started minutes round up)",
    )


def _read_per_input_second(
    model: Model, note: str, params: Mapping[str, Any], **kw: Any
) -> Estimate | None:
    if "input media" not in note:
        return None
    m = re.search(rf"{_NUM}\s*credits?\s*/\s*s\b", note)
    if not m:
        return None
    rate = float(m.group(1))
    seconds = kw.get("media_seconds")
    if seconds is None:
        seconds = kw.get("audio_seconds")
    assumed: tuple[str, ...] = ()
    if seconds is None:
        quoted = re.search(rf"an?\s+{_NUM}\s*s\s+clip", note)
        seconds = float(quoted.group(1)) if quoted else 60.0
        assumed = (f"{_num(seconds)} s of media (the length is measured by the server)",)
    return _billed(
        model,
        "per_second",
        rate * float(seconds),
        f"{_num(rate)} credits/s × {_num(float(seconds))} s of media",
        bool(assumed),
        assumed,
    )


def _read_ref_surcharge(
    model: Model, note: str, params: Mapping[str, Any], **kw: Any
) -> Estimate | None:
    m = re.search(
        rf"\(\s*ref_seconds\s*\+\s*output_seconds\s*\)\s*[×x*]\s*{_NUM}\s*credits?\s*/\s*s", note
    )
    if not m:
        return None
    rate = float(m.group(1))
    out, assumed, approx = _seconds_for(model, params, kw.get("output_seconds"))
    ref = kw.get("ref_seconds")
    if ref is None:
        if _has_kind(params, "video") is False:
            ref = 0.0  # no reference video in the request: nothing to add
        else:
            ref = _quoted_ref_seconds(note) or 5.0
            approx = True
            assumed.append(
                f"{_num(ref)} s of reference video (its length is measured by the server)"
            )
    ref = float(ref)
    return _billed(
        model,
        "per_second",
        (ref + out) * rate,
        f"({_num(ref)} s reference + {_num(out)} s output) × {_num(rate)} credits/s",
        approx,
        assumed,
    )


def _read_per_second_tiers(
    model: Model, note: str, params: Mapping[str, Any], **kw: Any
) -> Estimate | None:
    m = re.search(r"credits\s*/\s*s\s*:\s*([^)]+)\)", note)
    if not m or "tier" not in note:
        return None
    tiers = _tiers(model, m.group(1))
    if not tiers:
        return None
    default_rate = None
    dsec = default_seconds(model)
    if dsec:
        default_rate = model.cost_per_generation / dsec
    tier, assumed = _pick_tier(model, tiers, params, default_rate)
    if tier is None:
        return _no_tier(model, tiers, "credits/s")
    rate = tier.price
    audio_in = _has_kind(params, "audio")
    approx = False
    if audio_in and "audio_seconds" in note:
        # With an audio input the clip follows the audio: billed on its length.
        secs = kw.get("audio_seconds")
        if secs is None:
            secs = kw.get("output_seconds")
        if secs is None:
            secs, more, _ = _seconds_for(model, params, None)
            assumed += [f"the audio lasts {_num(secs)} s (the clip follows the audio)"]
            approx = True
        what = "s of audio"
    else:
        secs, more, approx = _seconds_for(model, params, kw.get("output_seconds"))
        assumed += more
        what = "s output"
    secs = float(secs)
    return _billed(
        model,
        "per_second",
        rate * secs,
        f"{_num(rate)} credits/s ({tier.label}) × {_num(secs)} {what}",
        approx,
        assumed,
    )


def _read_per_second(
    model: Model, note: str, params: Mapping[str, Any], **kw: Any
) -> Estimate | None:
    m = re.search(rf"per second[^:]*:\s*{_NUM}\s*credits?\s*/\s*s", note)
    if not m:
        return None
    rate = float(m.group(1))
    secs, assumed, approx = _seconds_for(model, params, kw.get("output_seconds"))
    rate_text = f"{_num(rate)} credits/s"
    per_s = rate
    sur = re.search(rf"plus\s+{_NUM}\s*credits?\s*/\s*s\s+when\s+(\w+)\s+is\s+true", note)
    if sur:
        extra, flag = float(sur.group(1)), sur.group(2)
        value = params.get(flag)
        if value is None:
            # The catalog price is quoted "with sound": that is the configuration assumed.
            value = bool(re.search(rf"with {re.escape(flag)}\b", note))
            assumed.append(f"{flag} {'on' if value else 'off'} (as the catalog price is quoted)")
        if value is True:
            per_s += extra
            rate_text = f"({_num(rate)} + {_num(extra)} {flag}) credits/s"
    return _billed(
        model, "per_second", per_s * secs, f"{rate_text} × {_num(secs)} s output", approx, assumed
    )


def _read_per_variant(
    model: Model, note: str, params: Mapping[str, Any], **_: Any
) -> Estimate | None:
    m = re.search(rf"per [\w ]*variant[^:]*:\s*{_NUM}\s*credits?\s*[×x*]\s*(\w+)", note)
    if not m:
        return None
    price, count_field = float(m.group(1)), m.group(2)
    count = params.get(count_field)
    assumed: tuple[str, ...] = ()
    if not isinstance(count, (int, float)) or isinstance(count, bool) or count < 1:
        count = 1
        assumed = (f"{count_field} 1 (not given)",)
    count = int(count)
    return _billed(
        model,
        "per_variant",
        price * count,
        f"{_num(price)} credits × {count} variant{'s' if count != 1 else ''}",
        bool(assumed),
        assumed,
    )


def _no_tier(model: Model, tiers: list[_Tier], unit: str) -> Estimate:
    """The request names a tier the note does not price (validate() reports it): catalog price."""
    listed = ", ".join(f"{t.label} {_num(t.price)}" for t in tiers)
    return Estimate(
        model.cost_per_generation,
        f"no price tier matches the request; catalog price {_num(model.cost_per_generation)} "
        f"(tiers, {unit}: {listed})",
        True,
        model.id,
        "per_second" if unit.endswith("/s") else "flat",
    )


def _read_flat_tiers(
    model: Model, note: str, params: Mapping[str, Any], **_: Any
) -> Estimate | None:
    m = re.search(r"\bby [\w ]+?:\s*(.+?)\s*credits\b", note)
    if not m or "flat" not in note.lower():
        return None
    tiers = _tiers(model, m.group(1))
    if not tiers:
        return None
    tier, assumed = _pick_tier(model, tiers, params, model.cost_per_generation)
    if tier is None:
        return _no_tier(model, tiers, "credits")
    return Estimate(
        tier.price,
        f"flat price for {tier.label}: {_num(tier.price)}",
        False,
        model.id,
        "flat",
        tuple(assumed),
    )


def _read_flat(model: Model, note: str, params: Mapping[str, Any], **_: Any) -> Estimate | None:
    if not re.match(r"\s*flat\b", note, re.I):
        return None
    return Estimate(
        model.cost_per_generation,
        f"flat price per generation: {_num(model.cost_per_generation)}",
        False,
        model.id,
        "flat",
    )


# Most specific first: a per-second note may also mention flat extend prices, and a
# tiered flat note also starts with "Flat price".
_READERS = (
    _read_per_minute,
    _read_per_input_second,
    _read_ref_surcharge,
    _read_per_second_tiers,
    _read_per_second,
    _read_per_variant,
    _read_flat_tiers,
    _read_flat,
)


__all__ = ["Estimate", "default_seconds", "estimate", "extend_prices"]
