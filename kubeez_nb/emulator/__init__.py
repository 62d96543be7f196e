"""A faithful local Kubeez: every route of the guide over real HTTP, for demos and tests.

``Emulator()`` serves it from a thread (``with Emulator() as emu: emu.url, emu.api_key``);
``python -m kubeez_nb.emulator --port 8000 --api-key sk_test_x`` serves it from a shell.

Layout (moto-style): ``routes`` (declarative table; the URL map and ``/openapi.json`` come from
it), ``responses`` (parse, validate with ``kubeez_nb.contract.catalog``, render; stores nothing),
``backend`` (keys, credits, jobs, files, assets; bills with ``kubeez_nb.contract.pricing``; no HTTP),
``seeding`` (column-store history and the paged listing), ``files`` (signed links),
``ratelimit``, ``clock``, ``mediagen`` (real PNG / MP4 / audio), ``server`` (WSGI app + thread).

Behaviour worth knowing:

- Scopes: ``generate:media`` (media, extend, upload, add asset), ``generate:music`` (music,
  separation), ``generate:speech`` (dialogue, captions), ``generate:ads`` (ad-copy),
  ``read:balance``, ``read:generations``. Status polls, ``/v1/models`` and asset list / rename /
  delete need only a valid key. A 403 body names the scope: ``{"error": "missing_scope", "scope"}``.
- History paging: ``GET /v1/generations?limit=1..100`` (default 50) answers
  ``{"generations", "count", "next_cursor", "has_more"}``, newest first. ``next_cursor`` is opaque
  (a keyset on ``(created_at, id)``), so pages stay stable while new jobs arrive; pass it back
  as ``?cursor=``. Filters ``status``, ``model``, ``generation_type`` combine with it.
- Jobs run on the emulator clock (real time + ``advance()``): ``queued`` (or ``pending``) for the
  first 15 % of ``estimated_time_seconds / speed``, then ``processing``, then ``completed`` or
  ``failed``. Non-terminal polls carry ``Retry-After`` (whole seconds, rounded up) and
  ``Retry-After-Ms`` (precise milliseconds) until the next change; 429s carry both too.
- Billing: flat prices at submit; per-second models are settled on the measured length of the
  MP4 produced; reference videos and audio inputs of our own are measured, outside ones count 5 s.
- URLs on the documentation domains ``example.com`` / ``.org`` / ``.net`` are answered with
  synthetic media of the type their extension names (so the guide's examples run offline);
  any other unreachable public URL is ``502 fetch_failed``.
- Control routes (not in OpenAPI): ``/_emulator/keys``, ``/knobs``, ``/clock``,
  ``/seed-history``, ``/stats``, ``/reset``; ``Emulator`` has a method for each. Over HTTP they
  need the per-process token in ``X-Emulator-Token`` (``Emulator.control_token``; the CLI prints
  it or takes ``--control-token``), a loopback caller, a ``Host`` naming our own address, and
  ``application/json`` bodies; they send no CORS headers (``guard``).
- Hardening: JSON bodies are capped in size (413, knob ``max_json_bytes``) and nesting (400,
  ``max_json_depth``); a bad ``Range`` is 416; idle connections close after ``idle_timeout``;
  media other than images / video / audio is served as an attachment, all with ``nosniff``;
  server-side fetches refuse control routes and loopback / private addresses (knob
  ``allow_private_fetch``). ``/openapi.json`` (``openapi``) is enforced on bodies and queries
  (``schemacheck``); ``/docs/openapi`` renders it as static HTML (``apidocs``).
"""

from __future__ import annotations

from kubeez_nb.emulator.server import Emulator

__all__ = ["Emulator"]
