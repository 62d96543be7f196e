"""What the magic looks up for the user: tab-completion values from the live catalog, and the
media / job references of a line (``--ref``, ``URL|ASSET|FILE``, ``JOB``)."""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from IPython.core.error import UsageError

from kubeez_nb.magics.options import _BY_NAME, _SUBCOMMANDS, _Command
from kubeez_nb.magics.parse import _IDENT_RE, _Parsed
from kubeez_nb.magics.problems import _problem

#: Stands in for a local file's URL until the request is known to be valid (shown by --dry-run).
_PENDING_UPLOAD = "https://uploaded-on-submit.invalid/"


class LookupMixin:
    """Completion and reference resolution; mixed into ``KubeezMagics`` (which supplies the client)."""

    client: Any
    shell: Any
    settings: Any

    def _catalog(self) -> Any:
        return self.client.catalog()

    # -- tab completion ---------------------------------------------------------------------

    def complete(self, _shell: Any, event: Any) -> list[str]:
        """``%kubeez <TAB>``: subcommands, options, and option values from the live catalog
        (model ids, the chosen model's aspect ratios / durations / tiers, voices)."""
        try:
            words = event.text_until_cursor.split()[1:]
            symbol = event.symbol or ""
            done = words[:-1] if symbol else words
            command = _BY_NAME.get(done[0], _BY_NAME[""]) if done else _BY_NAME[""]
            if not done and not symbol.startswith("-"):
                return [n for n in _SUBCOMMANDS if n.startswith(symbol)]
            values = self._values_for(done[-1] if done else "", done, command)
            if values is not None:
                return [v for v in values if v.startswith(symbol)]
            if symbol.startswith("-"):
                return sorted(
                    f for f in command.parser()._option_string_actions if f.startswith(symbol)
                )
            if command.name == "models" and len(done) == 1:
                return [t for t in self._catalog().types if t.startswith(symbol)]
        except Exception:  # completion must never raise into the user's typing
            return []
        return []

    def _values_for(self, flag: str, done: list[str], command: _Command) -> list[str] | None:
        action = command.parser()._option_string_actions.get(flag)
        if action is None or action.nargs == 0:
            return None
        if action.choices:
            return [str(c) for c in action.choices]
        catalog = self._catalog()
        if action.dest == "model":
            kind = {"music": "music"}.get(command.name)
            return [m.id for m in catalog.models if kind is None or m.endpoint == kind]
        if action.dest == "voice":
            return list(catalog.voices)
        if action.dest in ("aspect_ratio", "duration", "resolution", "quality"):
            given = next(
                (done[i + 1] for i, w in enumerate(done[:-1]) if w in ("-m", "--model")), None
            )
            model = catalog.get(given or self.settings.default_model)
            return list(model.option_fields.get(action.dest, [])) if model is not None else []
        return None

    def _resolve_refs(
        self, refs: Sequence[str], problems: list[Any], field: str = "--ref"
    ) -> tuple[list[str], dict[int, str]]:
        """URLs for ``--ref`` values. Local files get an ``upload://name`` placeholder (and their
        index in ``local``) so nothing is uploaded before the request is known to be valid."""
        urls: list[str] = []
        local: dict[int, str] = {}
        assets: dict[str, Any] | None = None
        for ref in refs:
            path = os.path.expanduser(ref)
            if re.match(r"^https?://", ref):
                urls.append(ref)
            elif os.path.isfile(path):
                local[len(urls)] = path
                urls.append(_PENDING_UPLOAD + quote(os.path.basename(path)))
            else:
                if assets is None:
                    assets = {str(getattr(x, "name", "")): x for x in self.client.assets()}
                if ref in assets:
                    urls.append(str(assets[ref].url))
                else:
                    near = difflib.get_close_matches(ref, list(assets), n=1)
                    hint = f" (did you mean the asset {near[0]!r}?)" if near else ""
                    problems.append(
                        _problem(
                            field,
                            ref,
                            list(assets),
                            f"{ref!r} is not a URL, an existing file or an asset name{hint}; %kubeez assets lists your assets",
                        )
                    )
        return urls, local

    def _upload_refs(self, urls: list[str], local: dict[int, str]) -> list[str]:
        urls = list(urls)
        for index, path in local.items():
            print(f"uploading {path} …")
            urls[index] = self.client.upload(path)[0]
        return urls

    def _one_media(self, p: _Parsed, problems: list[Any]) -> tuple[str, dict[int, str]]:
        if len(p.words) != 1:
            raise UsageError(f"Give exactly one media URL, asset name or file: {p.command.usage}")
        word = p.words[0].text
        name = word[1:].strip("{}")
        if word.startswith("$") and _IDENT_RE.match(name):
            raise UsageError(
                f"%kubeez does not expand {word} (prompts often mention prices); write {{{name}}} "
                f"to use the variable: %kubeez {p.command.name} {{{name}}}"
            )
        urls, local = self._resolve_refs([word], problems, field="media_url")
        return (urls[0] if urls else p.words[0].text), local

    def _job_ref(self, ref: str) -> Any:
        """A Job from a variable name (``_``, ``clip``) or a job id."""
        ns = self.shell.user_ns
        if _IDENT_RE.match(ref) and ref in ns:
            value = ns[ref]
            if hasattr(value, "id") and hasattr(value, "status"):
                return value
            raise UsageError(
                f"{ref} holds {type(value).__name__}, not a Job; give the clip's Job variable or its id"
            )
        if _IDENT_RE.match(ref) and "-" not in ref and len(ref) < 16:
            raise UsageError(
                f"No variable {ref!r} holds a job; give the clip's Job variable or its id"
            )
        return self.client.job(ref).refresh()  # its status row says whether it can be extended
