"""The ``KubeezMagics`` class: one ``_cmd_<name>`` method per subcommand, tab completion."""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import time
from collections.abc import Callable
from types import MappingProxyType
from typing import Any, cast

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand

from kubeez_nb.contract.kinds import KINDS
from kubeez_nb.magics import tables
from kubeez_nb.magics.display import DryRun, _credits, _estimate_line
from kubeez_nb.magics.lookup import LookupMixin
from kubeez_nb.magics.options import (
    _MEDIA_FIELDS,
    _NO_CLIENT,
    _SUBCOMMANDS,
    Kubeez,
    _command_help,
    _help_text,
)
from kubeez_nb.magics.parse import _IDENT_RE, _parse, _Parsed, interpolate
from kubeez_nb.magics.problems import (
    _add_note,
    _common_problems,
    _group,
    _problem,
    _problem_text,
    _user_errors,
)

_MODEL_COLUMNS = {
    "model_id": "model_id",
    "model_type": "type",
    "cost_per_generation": "credits",
    "cost_note": "pricing",
    "generation_types": "generation_types",
}


@magics_class
class KubeezMagics(LookupMixin, Magics):
    """``%kubeez`` and ``%%kubeez``; one client per shell, created on first use."""

    def __init__(self, shell: Any, config: Kubeez) -> None:
        super().__init__(shell)
        self.settings = config
        self._client: Any = None
        self._started = time.time()  # %kubeez jobs shows what was submitted since

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def client(self) -> Any:
        """The client the magic uses: ``kz.connect()`` on first use (key or KUBEEZ_DEMO from the env)."""
        if self._client is None:
            from kubeez_nb._config import ENV_API_KEY, ENV_DEMO, env_flag

            if not os.environ.get(ENV_API_KEY) and not env_flag(ENV_DEMO):
                raise UsageError(_NO_CLIENT)
            from kubeez_nb.client import connect

            self._client = connect()
        return self._client

    @client.setter
    def client(self, value: Any) -> None:
        self._client = value

    @no_var_expand
    @line_cell_magic
    def kubeez(self, line: str, cell: str | None = None) -> Any:
        # replaced by _help_text() below, so %kubeez? prints every subcommand and option
        ns = self.shell.user_ns if self.shell is not None else {}
        parsed = _parse(interpolate(line, ns))
        if cell is not None and cell.strip():
            if parsed.command.text in ("", "media", "query", "count", "name"):
                raise UsageError(
                    f"%%kubeez {parsed.command.name} takes no cell body; "
                    f"write it on one line: {parsed.command.usage}"
                )
            body = interpolate(cell.strip(), ns)
            if parsed.command.text == "job+prompt":
                if len(parsed.words) > 1:
                    raise UsageError(
                        "Give the prompt either after JOB on the line or in the cell, not both."
                    )
            elif parsed.text:
                raise UsageError(
                    "Give the prompt either on the line or in the cell, not both "
                    "(the %%kubeez line holds only options)."
                )
            parsed.cell = body
        else:
            parsed.cell = None
        handler: Callable[[_Parsed], Any] = getattr(
            self, "_cmd_" + (parsed.command.name or "generate")
        )
        with _user_errors(parsed):
            result = handler(parsed)
        out = getattr(parsed.args, "out", None)
        if out and result is not None:
            self.shell.user_ns[out] = result
        return result

    kubeez.__doc__ = _help_text()

    # -- generation: every request is one client.prepare(...) and client.submit(...) ---------

    def _cmd_generate(self, p: _Parsed, *, estimate_only: bool = False) -> Any:
        a = p.args
        problems = _common_problems(a)
        if not p.prompt and not a.ref:
            self._no_prompt(p)
        if not 1 <= a.variants <= 100:
            problems.append(
                _problem(
                    "-n", a.variants, "1-100", f"{a.variants} variants; give a number from 1 to 100"
                )
            )
        video = bool(a.video or a.duration or a.sound is not None)
        model_id = a.model or self._default_model("video" if video else "image")
        params: dict[str, Any] = {
            k: getattr(a, k) for k in _MEDIA_FIELDS if getattr(a, k) is not None
        }
        if p.prompt:
            params["prompt"] = p.prompt
        refs, local = self._resolve_refs(a.ref, problems)
        if refs:
            params["source_media_urls"] = refs
        return self._run(
            p,
            "media",
            model_id,
            params,
            problems,
            local,
            count=a.variants,
            estimate_only=estimate_only,
        )

    def _cmd_estimate(self, p: _Parsed) -> Any:
        return self._cmd_generate(p, estimate_only=True)

    def _cmd_music(self, p: _Parsed) -> Any:
        a = p.args
        problems = _common_problems(a)
        params: dict[str, Any] = {
            k: getattr(a, k)
            for k in (
                "title",
                "style",
                "lyrics",
                "song_description",
                "vocal_gender",
                "instrumental",
            )
            if getattr(a, k) is not None
        }
        text = p.text
        if p.cell is not None:
            if "lyrics" in params:
                problems.append(
                    _problem(
                        "--lyrics",
                        a.lyrics,
                        None,
                        "the cell body already holds the lyrics; give them once",
                    )
                )
            params["lyrics"] = p.cell
            if not (a.title and a.style):
                problems.append(
                    _problem(
                        "lyrics",
                        None,
                        None,
                        "lyrics need advanced mode: add --title and --style on the %%kubeez music line "
                        "(e.g. %%kubeez music --title Dawn --style 'lo-fi, warm')",
                    )
                )
        elif text and ("title" in params or "style" in params):
            # advanced mode: the free text describes the song
            if "lyrics" in params or "song_description" in params:
                problems.append(
                    _problem(
                        "prompt",
                        text,
                        None,
                        "give the song as --lyrics / --description or as text, not both",
                    )
                )
            else:
                params["song_description"] = text
            text = ""
        if text:
            params["prompt"] = text
        if not any(params.get(k) for k in ("prompt", "lyrics", "song_description")):
            self._no_prompt(p)
        model_id = a.model or self._default_model("music")
        return self._run(p, "music", model_id, params, problems)

    def _cmd_say(self, p: _Parsed) -> Any:
        a = p.args
        problems = _common_problems(a)
        if not p.prompt:
            self._no_prompt(p)
        model = self._catalog().endpoint_model("dialogue")
        if model is None:
            raise UsageError(
                "The catalog has no speech model; %kubeez models speech lists what there is."
            )
        params: dict[str, Any] = {
            k: getattr(a, k)
            for k in ("language_code", "speed", "stability")
            if getattr(a, k) is not None
        }
        voice = a.voice or self.settings.default_voice or None
        params = {"text": p.prompt, **({"voice": voice} if voice else {}), **params}
        return self._run(p, "dialogue", model.id, params, problems)

    def _cmd_separate(self, p: _Parsed) -> Any:
        problems = _common_problems(p.args)
        url, local = self._one_media(p, problems)
        model = self._catalog().endpoint_model("separation")
        model_id = model.id if model is not None else ""
        return self._run(p, "separation", model_id, {"media_url": url}, problems, local)

    def _cmd_extend(self, p: _Parsed) -> Any:
        a = p.args
        problems = _common_problems(a)
        if not p.words:
            raise UsageError(
                f"Name the clip to extend: {p.command.usage}\n(e.g. %kubeez extend _ the fox turns around)"
            )
        prompt = p.cell if p.cell is not None else p.text_after(1)
        if not prompt:
            raise UsageError(f"Say how the clip continues: {p.command.usage}")
        source = self._job_ref(p.words[0].text)  # prepare reads whether it can be extended
        params = {"source": source, "prompt": prompt, "extend_model": a.extend_model}
        return self._run(p, "extend", "", params, problems)

    def _cmd_captions(self, p: _Parsed) -> Any:
        a = p.args
        problems = _common_problems(a)
        url, local = self._one_media(p, problems)
        params = {"media_url": url, "quality": a.quality}
        if a.language:
            params["language"] = a.language
        captions = self._run(p, "captions", "", params, problems, local)
        if a.srt:
            srt = getattr(captions, "to_srt", None)
            print(srt() if callable(srt) else srt)
        return captions

    def _run(
        self,
        p: _Parsed,
        kind: str,
        model_id: str,
        params: dict[str, Any],
        problems: list[Any],
        local: dict[int, str] | None = None,
        *,
        count: int = 1,
        estimate_only: bool = False,
    ) -> Any:
        """One request: ``client.prepare`` (body, price, every problem, once) → dry run, or
        ``client.submit`` (the client's one confirm / budget guard, with the magic's threshold)."""
        request = self.client.prepare(kind, model_id or None, **params)
        problems = [*problems, *request.problems]
        if problems:
            raise UsageError(_problem_text(problems, p))
        label = model_id or kind
        if estimate_only or getattr(p.args, "dry_run", False):
            return DryRun(dict(request.body), request.estimate, count, KINDS[kind].post_path, label)
        print(f"{label}: {_estimate_line(request.estimate, count)}")
        threshold = self.settings.confirm_above
        # None: never ask (submit takes only finite thresholds; confirm=True skips the question,
        # never the budget)
        yes = bool(getattr(p.args, "yes", False)) or threshold is None
        threshold = math.inf if threshold is None else float(threshold)
        if local or count > 1:  # before any upload, and for the N jobs together
            from kubeez_nb.pipeline import (
                guard,  # the client's one guard (lazy: %load_ext stays light)
            )

            one = _credits(request.estimate)
            guard(self.client, cast(Any, None if one is None else one * count), yes, threshold)
        if local:
            request = self._with_uploads(request, local)
        results: list[Any] = []
        try:
            for _ in range(count):
                results.append(
                    self.client.submit(
                        request,
                        confirm=yes,
                        confirm_above=None if math.isinf(threshold) else threshold,
                    )
                )
        except Exception as err:
            if results:  # credits are committed for these: keep the handles and say where they are
                self.shell.user_ns["_kubeez_partial"] = _group(results)
                _add_note(
                    err,
                    f"{len(results)} of {count} jobs were submitted before this error; "
                    "they are in _kubeez_partial (and in %kubeez jobs).",
                )
            raise
        if KINDS[kind].synchronous:
            return results[0]
        return self._finish(_group(results), p.args)

    def _with_uploads(self, request: Any, local: dict[int, str]) -> Any:
        """The request with each local file's placeholder URL replaced by its uploaded URL."""
        body = dict(request.body)
        if "source_media_urls" in body:
            body["source_media_urls"] = self._upload_refs(list(body["source_media_urls"]), local)
        elif "media_url" in body:
            body["media_url"] = self._upload_refs([body["media_url"]], local)[0]
        return dataclasses.replace(request, body=MappingProxyType(body))

    # -- account and catalog ----------------------------------------------------------------

    def _cmd_models(self, p: _Parsed) -> Any:
        catalog = self._catalog()
        query = p.text.strip()
        found = catalog
        if query:
            if query.lower() in catalog.types:
                found = catalog.filter(model_type=query.lower())
            else:
                found = catalog.filter(search=query)
            if not found:
                raise UsageError(
                    f"No model matches {query!r}. Types: {', '.join(catalog.types)}; or search words of a "
                    "model id, name or provider (%kubeez models kling). A prompt that starts with "
                    f"'models' goes after --: %kubeez -- models {query}"
                )
        frame = found.to_dataframe()
        frame = frame[list(_MODEL_COLUMNS)].rename(columns=_MODEL_COLUMNS)
        what = f" matching {query!r}" if query else ""
        return tables.Table(
            frame,
            [
                tables.Column("model", lambda r: f"<code>{tables.esc(r['model_id'])}</code>"),
                tables.plain("type"),
                tables.Column(
                    "credits",
                    lambda r: (
                        f"<span title='{tables.esc(r['pricing'])}'>"
                        f"{tables.amount(r['credits'])}</span>"
                    ),
                    lambda r: tables.amount(r["credits"]),
                ),
                tables.prompt("pricing", 70),
            ],
            empty=f"No models{what}.",
            limit=500,
            search=True,
            caption=f"<b>{len(frame)} model{'' if len(frame) == 1 else 's'}</b>{tables.esc(what)}; hover a price for its note",
        )

    def _cmd_balance(self, p: _Parsed) -> Any:
        return self.client.balance()

    def _cmd_history(self, p: _Parsed) -> Any:
        a = p.args
        raw = p.text.strip() or str(self.settings.history_rows)
        if not raw.isdigit() or int(raw) < 1:
            raise UsageError(f"history takes a row count: %kubeez history 20 (got {raw!r})")
        filters = {k: v for k, v in (("model", a.model), ("status", a.status)) if v}
        n = int(raw)
        # enough pages for n rows even at the smallest page size; never the whole history
        frame = self.client.history(max_pages=max(1, -(-n // 25)), **filters)
        shown = frame.head(n)
        more = len(frame) - len(shown)
        return tables.Table(
            shown,
            [
                tables.thumbnail(),
                tables.short_id("id"),
                tables.when("created_at", "created"),
                tables.plain("model"),
                tables.plain("status"),
                tables.credits("credits"),
                tables.prompt(),
            ],
            empty="No generations yet"
            + (f" with {', '.join(f'{k}={v}' for k, v in filters.items())}" if filters else "")
            + ".",
            limit=n,
            caption=(
                f"<b>latest {len(shown)}</b>"
                + (
                    f" of at least {len(frame):,}: %kubeez history {n + 20} shows more"
                    if more
                    else ""
                )
            ),
        )

    def _cmd_cost(self, p: _Parsed) -> Any:
        from kubeez_nb.report import cost_report

        return cost_report(self.client.history(), client=self.client)

    def _cmd_assets(self, p: _Parsed) -> Any:
        from kubeez_nb.records import AssetList

        return AssetList(self.client.assets())

    def _cmd_jobs(self, p: _Parsed) -> Any:
        from kubeez_nb.recovery import jobs

        frame = jobs(self.client.home, unfinished=p.args.unfinished)
        everything = len(frame)
        if not p.args.all and len(frame):
            import pandas as pd

            since = pd.Timestamp(self._started, unit="s", tz="UTC")
            frame = frame[frame["submitted"] >= since]
        older = everything - len(frame)
        which = "unfinished jobs" if p.args.unfinished else "jobs"
        scope = "" if p.args.all else " from this kernel"
        return tables.Table(
            frame,
            [
                tables.short_id("job_id"),
                tables.when("submitted"),
                tables.plain("model"),
                tables.plain("status"),
                tables.credits("cost"),
                tables.prompt(),
                tables.plain("error"),
            ],
            empty=f"No {which}{scope} yet."
            + (f" {older:,} older: %kubeez jobs --all" if older else ""),
            caption=f"<b>{len(frame)} {which.removesuffix('s') if len(frame) == 1 else which}{scope}</b>"
            + (f" ({older:,} older: %kubeez jobs --all)" if older else ""),
        )

    def _cmd_resume(self, p: _Parsed) -> Any:
        from kubeez_nb.recovery import resume

        found = resume(client=self.client, progress=self.settings.progress)
        if not found:
            print(
                "Nothing to resume: every job this machine submitted has finished and its outputs are saved."
            )
            return None
        return _group(list(found))

    def _cmd_demo(self, p: _Parsed) -> None:
        from kubeez_nb import client as client_module

        announced = client_module._DEMO is None  # connect() prints the banner when it starts one
        self._client = client_module.connect(demo=True)
        if not announced:
            where = str(getattr(self._client, "base_url", "")).split("://", 1)[-1]
            print(f"Kubeez demo mode: local emulator at {where}, no credits spent.")

    def _cmd_use(self, p: _Parsed) -> None:
        name = p.text.strip()
        value = self.shell.user_ns.get(name) if _IDENT_RE.match(name) else None
        if value is None or not hasattr(value, "generate_media"):
            raise UsageError(
                f"%kubeez use VAR needs a variable holding a kz.Client (got {name!r}), e.g. client = kz.connect()"
            )
        self._client = value
        print(f"%kubeez now uses {value!r}")

    def _cmd_help(self, p: _Parsed) -> None:
        name = p.text.strip().lstrip("%").removeprefix("kubeez").strip()
        if not name:
            print(type(self).kubeez.__doc__)
        elif name in _SUBCOMMANDS:
            print(_command_help(name))
        else:
            raise UsageError(
                f"No subcommand {name!r}; they are: {', '.join(_SUBCOMMANDS)} (%kubeez help NAME)"
            )

    # -- helpers ----------------------------------------------------------------------------

    def _no_prompt(self, p: _Parsed) -> None:
        raise UsageError(
            f"Nothing to {p.command.name or 'generate'}: give the text, e.g.\n  {p.command.usage}\n"
            "%kubeez? lists every option and subcommand."
        )

    def _default_model(self, kind: str) -> str:
        """The configured default for ``kind``, or the catalog's first text-to-``kind`` model."""
        trait = "default_model" if kind == "image" else f"default_{kind}_model"
        configured = getattr(self.settings, trait)
        catalog = self._catalog()
        if configured in catalog:
            return str(configured)
        found = catalog.filter(model_type=kind, generation_type=f"text-to-{kind}").models
        if not found:
            raise UsageError(
                f"The catalog has no text-to-{kind} model; choose one with -m (%kubeez models {kind})."
            )
        print(
            f"({configured!r} is not in the catalog; using {found[0].id}. %config Kubeez.{trait} = ... picks another.)"
        )
        return str(found[0].id)

    def _finish(self, result: Any, a: argparse.Namespace) -> Any:
        """Wait (unless --no-wait) and hand the job back so ``_`` holds it."""
        out = getattr(a, "out", None)
        if out:  # store before waiting: an interrupted wait still leaves the handle
            self.shell.user_ns[out] = result
        wait = a.wait if a.wait is not None else self.settings.wait
        if not wait:
            # keep the handles current in the background; the job's own display shows its state
            for job in getattr(result, "jobs", None) or [result]:
                job.watch()
            return result
        try:
            result.wait(progress=self.settings.progress)
        except KeyboardInterrupt:
            print(
                "Stopped waiting; the job keeps running on Kubeez. _ holds it: _.wait(), or %kubeez resume later."
            )
        return result
