"""Getting a client for a widget app: the given one, the environment's, or a login step.

With no key and no demo mode, :class:`LoginBox` asks for the key once in a password field.
The moment the value arrives it is read, the field is emptied and closed, and a client is made
from it: the key never stays in widget state, so a notebook saved with widget state holds no
trace of it. Nothing echoes the key (the status says only "key set").
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import ipywidgets as W

from kubeez_nb._config import ENV_API_KEY, ENV_DEMO, env_flag

Build = Callable[[Any], W.Widget]

_LOOPBACK = {"127.0.0.1", "localhost", "::1", "0.0.0.0"}


def is_local(client: Any) -> bool:
    """The client talks to a local emulator (a loopback base URL), not the real Kubeez."""
    try:
        host = urlsplit(str(client.base_url)).hostname or ""
    except (AttributeError, ValueError):
        return False
    return host in _LOOPBACK


def demo_banner(client: Any) -> W.HTML:
    """A clear banner when the client is bound to the local emulator (empty otherwise)."""
    if not is_local(client):
        return W.HTML("")
    return W.HTML(
        "<div class='kubeez-demo-banner' style='background:#fff4ce;border:1px solid #e0c060;"
        "padding:4px 8px;border-radius:4px'><b>Demo mode</b>: local emulator, no credits "
        "spent. Results are synthetic test media.</div>"
    )


def client_from_env() -> Any | None:
    """A client when the environment allows one (demo mode or ``KUBEEZ_API_KEY``), else None."""
    if env_flag(ENV_DEMO) or os.environ.get(ENV_API_KEY, "").strip():
        from kubeez_nb.client import connect

        return connect()
    return None


class LoginBox(W.VBox):
    """The login step: a password field read once, then the app built with the new client.

    ``build(client)`` makes the app; it replaces this box's children once connected.
    ``base_url`` goes to the client (default: ``KUBEEZ_BASE_URL`` or the real API).
    """

    def __init__(self, build: Build, *, base_url: str | None = None, **kw: Any) -> None:
        self._build = build
        self._base_url = base_url
        self.client: Any = None
        self.app: W.Widget | None = None
        self.ready = threading.Event()
        self.message = W.HTML(
            "<b>Connect to Kubeez</b>: paste your API key (it is read once and not kept in the "
            "notebook), or use the demo mode (a local emulator, no credits spent)."
        )
        self.status = W.HTML()
        self.demo_button = W.Button(description="Use demo mode", icon="flask")
        self.demo_button.on_click(lambda _b: self.use_demo())
        self.connect_button = W.Button(description="Connect", button_style="primary", icon="key")
        # The button only gives the field a reason to lose focus: the value arrives on blur or
        # Enter (continuous_update=False) and is handled by the observer below.
        self.connect_button.on_click(lambda _b: self._ask_again_if_empty())
        self.password = self._new_password()
        super().__init__(self._login_children(), **kw)
        self.add_class("kubeez-login")

    def _new_password(self) -> W.Password:
        pw = W.Password(
            value="",
            placeholder="sk_live_…",
            description="API key",
            continuous_update=False,
        )
        pw.observe(self._on_key, "value")
        return pw

    def _login_children(self) -> list[W.Widget]:
        return [
            self.message,
            W.HBox([self.password, self.connect_button, self.demo_button]),
            self.status,
        ]

    def _ask_again_if_empty(self) -> None:
        if self.client is None and not self.status.value:
            self.status.value = "<i>Type or paste the key, then press Enter.</i>"

    def _on_key(self, change: dict[str, Any]) -> None:
        key = change["new"]
        if not key:
            return
        # Read once, then empty and close the field at once: the key must not sit in widget state.
        pw = change["owner"]
        pw.value = ""
        pw.close()
        key = key.strip()
        self.status.value = "<i>Checking the key…</i>"
        threading.Thread(target=self._connect, args=(key,), daemon=True).start()

    def submit_key(self, key: str) -> None:
        """Log in from code (what typing the key and pressing Enter does)."""
        self.password.value = key

    def _connect(self, key: str) -> None:
        from kubeez_nb.client import Client

        try:
            client = Client(api_key=key, base_url=self._base_url)
            client.balance()  # proves the key works before the app is built
        except Exception as err:  # the error text never holds the key (errors redact it)
            self.status.value = (
                f"<span style='color:#b00020'>Could not connect: {_esc(str(err))}</span>"
            )
            self.password = self._new_password()
            self.children = self._login_children()
            return
        self._ready(client, "Connected (key set).")

    def use_demo(self) -> None:
        """Switch to the local emulator (announced by the banner; nothing is billed)."""
        from kubeez_nb.client import connect

        self.password.value = ""
        self.password.close()
        self.status.value = "<i>Starting the local emulator…</i>"
        self._ready(connect(demo=True), "")

    def _ready(self, client: Any, note: str) -> None:
        self.client = client
        try:
            self.app = self._build(client)
        except Exception as err:
            self.status.value = f"<span style='color:#b00020'>{_esc(str(err))}</span>"
            return
        self.children = [W.HTML(f"<small>{note}</small>"), self.app] if note else [self.app]
        self.ready.set()

    def wait(self, timeout: float | None = None) -> W.Widget | None:
        """Block until logged in (for scripts and tests); returns the app."""
        self.ready.wait(timeout)
        return self.app


def _esc(text: str) -> str:
    import html

    return html.escape(text, quote=True)


def with_client(build: Build, client: Any = None) -> W.Widget:
    """``build(client)`` with the given client, the environment's, or after the login step."""
    if client is None:
        client = client_from_env()
    if client is None:
        return LoginBox(build)
    return build(client)


__all__ = ["LoginBox", "client_from_env", "demo_banner", "is_local", "with_client"]
