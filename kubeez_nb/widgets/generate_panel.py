"""A generate panel: model picker, the model's form, live price and problems, Generate, result.

Nothing here validates, prices or posts on its own: every edit makes one ``client.prepare``
request (its body, estimate and problems; no HTTP once the catalog is cached) and Generate hands
that same request to ``client.submit`` (the client's one confirm / budget guard). Generate never blocks the kernel: the submit and the polling run in a worker thread
that only sets widget traits (status text, button state, the result area's children).
"""

from __future__ import annotations

import html
import io
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as W

from kubeez_nb.contract.catalog import Catalog, Model
from kubeez_nb.errors import Problem
from kubeez_nb.widgets.cards import cards_for
from kubeez_nb.widgets.fields import ChoiceField
from kubeez_nb.widgets.form import ModelForm, problems_html, ui_words
from kubeez_nb.widgets.live import JobProgress
from kubeez_nb.widgets.media_field import MediaField
from kubeez_nb.widgets.results import result_widgets
from kubeez_nb.widgets.trace import Traced

ALL = "all"
_HIDDEN = "none"


def model_label(m: Model) -> str:
    """The picker's label of a model: name, id, catalog price."""
    name = m.display_name or m.id
    price = f"{m.cost_per_generation:g} cr"
    return f"{name} · {m.id} · {price}" if name != m.id else f"{m.id} · {price}"


def _error_html(err: BaseException) -> str:
    problems = getattr(err, "problems", None)
    if problems:
        return problems_html(problems)
    text = str(err) or err.__class__.__name__
    head, _, hint = text.partition("\n→ ")
    out = f"<b>{html.escape(err.__class__.__name__)}</b>: {html.escape(head)}"
    if hint:
        out += f"<br><span style='color:#444'>→ {html.escape(hint)}</span>"
    return f"<div style='color:#b00020' class='kubeez-error'>{out}</div>"


def _reason(p: Problem, labels: dict[str, str]) -> str:
    """Generate's tooltip: why it is disabled, in the form's words."""
    return f"{labels.get(p.field) or p.field}: {ui_words(p.message, labels)}"


class Panel(Traced, W.VBox):
    """Generate panel for one request kind over a list of models (a picker when there are several).

    ``panel.form`` is the current model's :class:`ModelForm`; ``panel.generate()`` is what the
    Generate button does; ``panel.wait(timeout)`` blocks until the panel's job is finished (for
    scripts and tests: the button itself never blocks); ``panel.job`` is the last job.
    """

    def __init__(
        self,
        client: Any,
        kind: str,
        models: Sequence[Model | None],
        *,
        model: str | None = None,
        filters: bool = False,
        catalog: Catalog | None = None,
        on_done: Callable[[Any], None] | None = None,
        host: Any = None,
        **kw: Any,
    ) -> None:
        self.client = client
        self.host = host  # the studio: result cards call its actions
        self.on_progress: Callable[[JobProgress], None] | None = None
        self.kind = kind
        self.models = list(models)
        self._by_id = {m.id: m for m in self.models if m is not None}
        self.catalog = catalog
        self.voices = list(catalog.voices) if catalog is not None else []
        self._forms: dict[str, ModelForm] = {}
        self._listeners: list[Callable[[Any], None]] = [on_done] if on_done else []
        self._assets: list[tuple[str, str, str | None]] = []
        self.busy = False
        self.job: Any = None
        self.result_value: Any = None
        self.error: BaseException | None = None
        self.finished = threading.Event()
        self.finished.set()
        self._pending: Any = None  # the Request waiting for confirmation
        self._acted = False  # Generate was pressed: problems are shown in red from now on
        self.request: Any = None  # the Request the form holds now (client.prepare)
        self._refreshing = threading.RLock()
        self.form: ModelForm = None  # type: ignore[assignment]  # set by select() below

        # picker row -------------------------------------------------------------------------
        rows: list[W.Widget] = []
        real = [m for m in self.models if m is not None]
        self.picker = W.Dropdown(
            options=[(model_label(m), m.id) for m in real],
            description="Model",
            style={"description_width": "130px"},
            layout=W.Layout(width="95%"),
        )
        self.type_filter: W.ToggleButtons | None = None
        self.gtype_filter: W.Dropdown | None = None
        self.search: W.Text | None = None
        if filters and real:
            types = list(dict.fromkeys(m.model_type for m in real if m.model_type))
            gtypes = list(dict.fromkeys(g for m in real for g in m.generation_types))
            self.type_filter = W.ToggleButtons(
                options=[ALL, *types], value=ALL, style={"button_width": "auto"}
            )
            self.gtype_filter = W.Dropdown(
                options=[("any generation type", ALL), *((g, g) for g in gtypes)],
                value=ALL,
                layout=W.Layout(width="220px"),
            )
            self.search = W.Text(placeholder="search models", layout=W.Layout(width="200px"))
            for w in (self.type_filter, self.gtype_filter, self.search):
                w.observe(self._on_filter, "value")
            rows.append(
                W.HBox(
                    [self.type_filter, self.gtype_filter, self.search],
                    layout=W.Layout(flex_flow="row wrap", margin="0 0 0 134px"),
                )
            )
        if len(real) > 1:
            rows.append(self.picker)
        self.info = W.HTML()
        self.form_box = W.VBox()
        self.price_html = W.HTML()
        self.problems_html = W.HTML()
        self.generate_button = W.Button(
            description="Generate", button_style="primary", icon="play", disabled=True
        )
        self.confirm_button = W.Button(
            description="Confirm", button_style="warning", layout=W.Layout(display=_HIDDEN)
        )
        self.cancel_button = W.Button(description="Cancel", layout=W.Layout(display=_HIDDEN))
        self.status_html = W.HTML()
        self.progress = JobProgress(on_tick=self._progress_tick)
        self.result = W.HBox(layout=W.Layout(flex_flow="row wrap"))
        self.picker.add_class("kubeez-picker")
        self.generate_button.add_class("kubeez-generate")
        self.status_html.add_class("kubeez-status")
        self.result.add_class("kubeez-result")
        self.generate_button.on_click(lambda _b: self.generate())
        self.confirm_button.on_click(lambda _b: self.confirm())
        self.cancel_button.on_click(lambda _b: self.cancel())
        buttons = W.HBox(
            [self.generate_button, self.confirm_button, self.cancel_button, self.price_html],
            layout=W.Layout(margin="4px 0 0 134px", align_items="center", flex_flow="row wrap"),
        )
        body = [
            *rows,
            self.info,
            self.form_box,
            self.problems_html,
            buttons,
            self.progress,
            self.status_html,
            self.result,
        ]
        super().__init__(body, **kw)
        self.add_class("kubeez-panel")
        self.picker.observe(lambda ch: self.select(ch["new"]) if ch["new"] else None, "value")
        first = model if model in self._by_id else (real[0].id if real else None)
        if first is not None and self.picker.value != first:
            self.picker.value = first  # fires select()
        else:
            self.select(first)

    def __repr__(self) -> str:
        current = self.form.model.id if self.form and self.form.model else self.kind
        return f"<kubeez Panel {self.kind}: {current}>"

    # model switching ----------------------------------------------------------------------------
    @property
    def model(self) -> Model | None:
        """The model the form is for."""
        return self.form.model if self.form is not None else None

    def form_for(self, model_id: str | None) -> ModelForm:
        """The (cached) form of one model of this panel."""
        key = model_id or ""
        form = self._forms.get(key)
        if form is None:
            form = ModelForm(self._by_id.get(key), self.kind, voices=self.voices)
            for f in form.media_fields():
                f.uploader = self._upload
                if self._assets:
                    f.set_assets(self._assets)
            form.on_change(self.refresh)
            self._forms[key] = form
        return form

    def select(self, model_id: str | None) -> ModelForm:
        """Show ``model_id``'s form, carrying over every value that still fits."""
        old = self.form
        form = self.form_for(model_id)
        if form is old:
            return form
        if old is not None:
            carried = old.values()
            gtype = self._gtype_wanted()
            if gtype and "generation_type" in form.fields:
                carried["generation_type"] = gtype
            form.apply(carried)
        elif self._gtype_wanted() and "generation_type" in form.fields:
            form.apply({"generation_type": self._gtype_wanted()})
        self.form = form
        if old is not None and not self.busy:  # a previous model's result would mislead
            self.result.children = ()
            self.progress.layout.display = _HIDDEN
        self.form_box.children = (form.widget,)
        self.info.value = self._info_html(form.model)
        if model_id is not None and self.picker.value != model_id and model_id in self._by_id:
            self.picker.value = model_id
        self.refresh()
        return form

    def _gtype_wanted(self) -> str | None:
        g = self.gtype_filter.value if self.gtype_filter is not None else ALL
        return None if g == ALL else g

    def _info_html(self, m: Model | None) -> str:
        if m is None:
            return ""
        note = html.escape(m.cost_note) if m.cost_note else f"{m.cost_per_generation:g} credits"
        usage = html.escape(m.usage_notes)
        return (
            "<div class='kubeez-model-info' style='margin-left:134px;color:#444;font-size:90%'>"
            f"<b>{html.escape(m.display_name or m.id)}</b> <code>{html.escape(m.id)}</code>"
            f" · {html.escape(m.model_type)} · {html.escape(m.provider)}<br>"
            f"<span>Price: {note}</span>"
            + (f"<details><summary>usage notes</summary>{usage}</details>" if usage else "")
            + "</div>"
        )

    def _on_filter(self, _change: Any = None) -> None:
        cat = Catalog([m for m in self.models if m is not None])
        t = self.type_filter.value if self.type_filter is not None else ALL
        words = self.search.value.strip() if self.search is not None else ""
        hits = cat.filter(
            model_type=None if t == ALL else t,
            generation_type=self._gtype_wanted(),
            search=words or None,
        )
        current = self.picker.value
        options = [(model_label(m), m.id) for m in hits.values()]
        if not options:
            self.status_html.value = "<i>No model matches these filters.</i>"
            return
        self.status_html.value = ""
        with self.picker.hold_trait_notifications():
            self.picker.options = options
            if current in hits:
                self.picker.value = current
        if self.picker.value != current:
            self.select(self.picker.value)
        elif self._gtype_wanted() and "generation_type" in self.form.fields:
            self.form.apply({"generation_type": self._gtype_wanted()})

    # assets and references ----------------------------------------------------------------------
    def set_assets(self, assets: Sequence[tuple[str, str, str | None]]) -> None:
        """Offer these ``(name, url, kind)`` assets in every reference field of this panel."""
        self._assets = list(assets)
        for form in self._forms.values():
            for f in form.media_fields():
                f.set_assets(self._assets)

    def add_reference(self, url: str, kind: str | None = None) -> bool:
        """Put ``url`` into the current form's reference field, keeping the model.

        When the current model takes no such media nothing changes but the status line, which
        says so and how to find a model that does; False then."""
        fields = self.form.media_fields() if self.form else []
        takes = [f for f in fields if not kind or not f.limits or kind in f.limits]
        if not takes:
            model = self.form.model.id if self.form and self.form.model else self.kind
            what = f"{kind} references" if kind else "reference media"
            self.status_html.value = (
                f"<i>{html.escape(model)} takes no {html.escape(what)}: pick a model that does "
                "(the generation type filter: image-to-image, image-to-video), then Use again.</i>"
            )
            return False
        takes[0].add(url, kind)
        return True

    def _upload(self, data: bytes, filename: str) -> str:
        urls = self.client.upload(io.BytesIO(data), filename=filename)
        return str(urls[0])

    def set_choices(self, name: str, options: Sequence[tuple[str, Any]]) -> None:
        """Replace the options of a choice field in every form (the Extend tab's source clips)."""
        for form in self._forms.values():
            f = form.fields.get(name)
            if isinstance(f, ChoiceField):
                f.set_options(options)
        self.refresh()

    # live price and problems --------------------------------------------------------------------
    def prepare(self) -> Any:
        """The request the form holds now: ``client.prepare`` (body, estimate, every problem)."""
        params = self.form.params()
        model: Model | None = self.form.model
        if self.kind == "extend":  # the clip is chosen from a list: its task id is the source
            params["source"] = params.pop("source_task_id", None)
            model = None
        return self.client.prepare(self.kind, model, **params)

    def estimate(self) -> Any:
        """The estimate of the request the form holds (None when it cannot be priced)."""
        return getattr(self.request, "estimate", None)

    def refresh(self) -> None:
        """Prepare the request once and show its price and problems (on every edit; a URL box
        calls it when the typing pauses, from its timer thread: hence the lock)."""
        with self._refreshing:
            self._refresh()

    def _refresh(self) -> None:
        form = self.form
        if form is None:
            return
        try:
            self.request = self.prepare()
            found = self.request.problems
        except Exception as err:  # the form must stay usable: show why nothing can be sent
            self.request = None
            found = (Problem("request", None, None, f"{type(err).__name__}: {err}"),)
        problems = form.problems(found)
        self.problems_html.value = problems_html(
            problems, form.labels(), quiet=not (self._acted or form.edited)
        )
        est = self.estimate()
        self.price_html.value = (
            f"<span style='margin-left:8px'>{est._repr_html_()}</span>" if est is not None else ""
        )
        self._problems = problems
        if self._pending is None:
            self.generate_button.disabled = (
                bool(problems)
                or self.busy
                or (form.model is None and (self.kind in ("media", "music")))
            )
            self.generate_button.tooltip = (
                "a job from this panel is running"
                if self.busy
                else (_reason(problems[0], form.labels()) if problems else "")
            )

    # generate -----------------------------------------------------------------------------------
    def generate(self) -> bool:
        """What the Generate button does: the request of the form (prepared once), the client's
        guard (a confirm step above its threshold), then ``client.submit`` in the background.
        Returns True when a job was started (False: invalid, busy or asking)."""
        from kubeez_nb.errors import ConfirmationRequired, KubeezError
        from kubeez_nb.pipeline import guard

        if self.busy or self._pending is not None:
            return False
        self._acted = True
        self.refresh()
        request = self.request
        if self._problems or request is None:
            return False
        try:  # the guard submit runs, asked before the worker starts: the confirm step is shown now
            guard(self.client, request.estimate, False, self.client.confirm_above)
        except ConfirmationRequired as err:
            credits, threshold = float(err.estimate or 0.0), float(err.threshold or 0.0)
            self._pending = request
            self.generate_button.layout.display = _HIDDEN
            self.confirm_button.description = f"Confirm {credits:g} credits?"
            self.confirm_button.layout.display = None
            self.cancel_button.layout.display = None
            self.status_html.value = (
                f"<span style='color:#8a5a00'>This job costs ≈ {credits:g} credits, above the "
                f"confirm threshold of {threshold:g}. Confirm to submit.</span>"
            )
            return False
        except KubeezError as err:  # over the budget: nothing was sent
            self.status_html.value = _error_html(err)
            return False
        self._start(request, confirm=False)
        return True

    def confirm(self) -> bool:
        """Submit the request waiting for confirmation."""
        request = self._pending
        self._end_confirm()
        if request is None:
            return False
        self._start(request, confirm=True)
        return True

    def cancel(self) -> None:
        """Drop the job waiting for confirmation (nothing was sent)."""
        self._end_confirm()
        self.status_html.value = "<i>Cancelled; nothing was sent.</i>"
        self.refresh()

    def _end_confirm(self) -> None:
        self._pending = None
        self.confirm_button.layout.display = _HIDDEN
        self.cancel_button.layout.display = _HIDDEN
        self.generate_button.layout.display = None

    def _start(self, request: Any, *, confirm: bool) -> None:
        self.busy = True
        self.error = None
        self.finished.clear()
        self.generate_button.disabled = True
        self.generate_button.tooltip = "a job from this panel is running"
        self.status_html.value = ""
        self.progress.start(self.form.model if self.form is not None else None)
        self._submitted = request
        worker = threading.Thread(
            target=self._run, args=(request, confirm), name="kubeez-panel-generate", daemon=True
        )
        worker.start()

    def _with_clip(self, request: Any) -> Any:
        """An extend request re-made from the chosen clip's status row (fetched here, off the
        kernel), so the clip's own checks (finished, a Veo clip) apply before anything is sent."""
        body = request.body
        source = self.client.job(str(body.get("source_task_id")), "media")
        again = self.client.prepare(
            "extend",
            None,
            source=source,
            prompt=body.get("prompt"),
            extend_model=body.get("extend_model"),
        )
        again.raise_for_problems()
        return again

    def _run(self, request: Any, confirm: bool) -> None:
        started = time.monotonic()
        result: Any = None
        try:
            if self.kind == "extend":
                request = self._with_clip(request)
            result = self.client.submit(request, confirm=confirm)
            self.job = result
            waiter = getattr(result, "wait", None)
            if callable(waiter):
                self._show_status(result, started)
                for job in getattr(result, "jobs", None) or [result]:
                    on_change = getattr(job, "on_change", None)
                    if callable(on_change):
                        on_change(lambda _j, r=result: self._show_status(r, started))
                waiter(progress=False)
            self.result_value = result
            if getattr(result, "failed", False) or getattr(result, "ok", True) is False:
                self.progress.finish(False)
                self.status_html.value = self._failed_html(result)
            else:
                self.result.children = tuple(self._result_widgets(result, request))
                self.progress.finish(True)
                self.status_html.value = self._done_html(result, started)
        except Exception as err:  # every failure is shown in the panel with what to do
            self.error = err
            if self.progress.running:
                self.progress.finish(False)
            self.status_html.value = _error_html(err)
        finally:
            self.busy = False
            self.refresh()  # Generate usable again before a waiter (panel.wait()) hears "finished"
            self.finished.set()
            for cb in list(self._listeners):
                try:
                    cb(result)
                except Exception:  # a listener (balance refresh) must not hide the result
                    pass

    def _show_status(self, result: Any, started: float) -> None:
        jobs = getattr(result, "jobs", None) or [result]
        states = ", ".join(dict.fromkeys(str(getattr(j, "status", "?")) for j in jobs))
        self.progress.update(states, str(getattr(jobs[0], "id", "")))

    def _progress_tick(self, progress: JobProgress) -> None:
        if self.on_progress is not None:
            self.on_progress(progress)

    def _result_widgets(self, result: Any, request: Any) -> list[W.Widget]:
        """Result cards with their actions (outputs), else the result's own rendering."""
        try:
            code = request.code("client") if request is not None else None
        except Exception:  # no code for this request: the card leaves the action out
            code = None
        model = self.catalog.get(str(getattr(result, "model", ""))) if self.catalog else None
        extendable = bool(getattr(model, "extendable", False))
        cards = cards_for(result, code=code, host=self.host, extendable=extendable)
        return cards or result_widgets(result)

    def restore(self, model_id: str | None, body: dict[str, Any]) -> list[str]:
        """Show ``model_id``'s form holding ``body`` (a job's request: remix / re-run / vary);
        returns the names applied."""
        if model_id and model_id in self._by_id:
            if model_id not in [v for _, v in self.picker.options]:
                self.picker.options = [(model_label(m), m.id) for m in self.models if m]
            self.select(model_id)
        values = {k: v for k, v in body.items() if k != "model"}
        return self.form.apply(values)

    def _done_html(self, result: Any, started: float) -> str:
        cost = getattr(result, "cost", None)
        est = getattr(result, "estimate", None)
        money = (
            f"{cost:g} credits"
            if isinstance(cost, (int, float))
            else (f"≈ {float(est):g} credits" if est is not None else "")
        )
        took = time.monotonic() - started
        ident = html.escape(str(getattr(result, "id", "") or ""))
        return (
            f"<span style='color:#1b5e20' class='kubeez-done'>✔ done in {took:.1f} s"
            + (f" · {html.escape(money)}" if money else "")
            + f"</span> <small style='color:#666'>{ident}</small>"
        )

    def _failed_html(self, result: Any) -> str:
        jobs = getattr(result, "jobs", None) or [result]
        errors = "; ".join(str(getattr(j, "error", "") or getattr(j, "status", "")) for j in jobs)
        return (
            "<div style='color:#b00020' class='kubeez-error'><b>The job failed</b>: "
            f"{html.escape(errors)}<br><span style='color:#444'>→ Change the prompt or inputs "
            "and generate again (moderation failures look like this). Kubeez does not refund "
            "failed jobs.</span></div>"
        )

    def on_done(self, callback: Callable[[Any], None]) -> None:
        """Call ``callback(result)`` (in the worker thread) after every job of this panel."""
        self._listeners.append(callback)

    def wait(self, timeout: float | None = None) -> Any:
        """Block until this panel's job is finished; returns its result (Job, JobGroup, Captions).

        For scripts and tests: the Generate button never waits. Raises ``TimeoutError``.
        """
        if not self.finished.wait(timeout):
            raise TimeoutError(f"the panel's job is still running after {timeout:g} s")
        if self.error is not None:
            raise self.error
        return self.result_value


__all__ = ["MediaField", "Panel", "model_label"]
