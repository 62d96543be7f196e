"""``/docs/openapi``: the OpenAPI document as one static HTML page (no script, no CDN), so it
reads offline and in any browser. Every value from the document is HTML-escaped."""

from __future__ import annotations

import json
from html import escape
from typing import Any

_STYLE = """
body{font:15px/1.5 system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}
h2{border-bottom:1px solid #ddd;margin-top:2.5rem}
.op{border:1px solid #ddd;border-radius:6px;margin:1rem 0;padding:.6rem 1rem}
.m{display:inline-block;min-width:4.5rem;font-weight:700;text-transform:uppercase}
.get{color:#0b6e4f}.post{color:#1d4ed8}.patch{color:#a16207}.delete{color:#b91c1c}
code,pre{font:13px/1.4 ui-monospace,monospace}pre{background:#f6f6f6;padding:.5rem;overflow:auto}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left;vertical-align:top}
details summary{cursor:pointer}
"""


def _pre(value: Any) -> str:
    return f"<pre>{escape(json.dumps(value, indent=2))}</pre>"


def _operation(path: str, method: str, op: dict[str, Any]) -> str:
    parts = [f"<div class='op' id='{escape(op.get('operationId', ''))}'>",
             f"<span class='m {escape(method)}'>{escape(method)}</span> <code>{escape(path)}</code>"
             f" &mdash; {escape(op.get('summary', ''))}"]  # fmt: skip
    extras = (
        [f"scope <code>{escape(op['x-required-scope'])}</code>"] if "x-required-scope" in op else []
    )
    if "x-rate-limit-group" in op:
        extras.append(f"rate-limit group <code>{escape(op['x-rate-limit-group'])}</code>")
    if "security" in op:
        extras.append("needs <code>X-API-Key</code> or <code>Authorization: Bearer</code>")
    if extras:
        parts.append(f"<p>{'; '.join(extras)}</p>")
    if op.get("parameters"):
        param_rows = "".join(
            f"<tr><td><code>{escape(p['name'])}</code></td><td>{escape(p['in'])}</td>"
            f"<td>{'yes' if p.get('required') else ''}</td><td><code>{escape(json.dumps(p.get('schema', {})))}</code></td>"
            f"<td>{escape(p.get('description', ''))}</td></tr>"
            for p in op["parameters"]
        )
        parts.append("<table><tr><th>parameter</th><th>in</th><th>required</th><th>schema</th><th></th></tr>"
                     f"{param_rows}</table>")  # fmt: skip
    body = op.get("requestBody", {}).get("content", {})
    for ctype, media in body.items():
        ref = media.get("schema", {}).get("$ref", "").rsplit("/", 1)[-1]
        parts.append(
            f"<p>Body <code>{escape(ctype)}</code>: <a href='#schema-{escape(ref)}'>{escape(ref)}</a></p>"
        )
        if "example" in media:
            parts.append(f"<details><summary>example</summary>{_pre(media['example'])}</details>")
    rows = []
    for code, resp in op.get("responses", {}).items():
        headers = ", ".join(f"<code>{escape(h)}</code>" for h in resp.get("headers", {}))
        rows.append(
            f"<tr><td>{escape(code)}</td><td>{escape(resp.get('description', ''))}</td><td>{headers}</td></tr>"
        )
    parts.append(
        f"<table><tr><th>status</th><th>meaning</th><th>headers</th></tr>{''.join(rows)}</table></div>"
    )
    return "".join(parts)


def render(doc: dict[str, Any]) -> str:
    """The whole page: operations grouped by tag, then every schema."""
    info = doc.get("info", {})
    by_tag: dict[str, list[str]] = {}
    for path, methods in doc.get("paths", {}).items():
        for method, op in methods.items():
            by_tag.setdefault((op.get("tags") or ["other"])[0], []).append(
                _operation(path, method, op)
            )
    toc = " · ".join(f"<a href='#tag-{escape(t)}'>{escape(t)}</a>" for t in by_tag)
    sections = "".join(
        f"<h2 id='tag-{escape(t)}'>{escape(t)}</h2>{''.join(ops)}" for t, ops in by_tag.items()
    )
    schemas = "".join(
        f"<details id='schema-{escape(name)}'><summary><code>{escape(name)}</code></summary>{_pre(schema)}</details>"
        for name, schema in doc.get("components", {}).get("schemas", {}).items()
    )
    return (
        f"<!doctype html><html lang='en'><meta charset='utf-8'><title>{escape(info.get('title', 'API'))}</title>"
        f"<style>{_STYLE}</style><h1>{escape(info.get('title', 'API'))}</h1>"
        f"<p>{escape(info.get('description', ''))} Machine-readable: <a href='/openapi.json'>/openapi.json</a>.</p>"
        f"<p>{toc} · <a href='#schemas'>schemas</a></p>{sections}<h2 id='schemas'>Schemas</h2>{schemas}</html>"
    )
