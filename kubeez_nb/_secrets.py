"""The API key's safe keeping: a masked :class:`Secret`, the auth hook that attaches it at
send time (so no frame of this package holds the raw key in a local), and redaction of every
live key and key-shaped token from logs and server-supplied text (:func:`scrub`)."""

from __future__ import annotations

import logging
import threading
import weakref
from typing import Any

import requests

from kubeez_nb.errors import redact

KEY_HEADER = "X-API-Key"


class Secret:
    """A string that never shows itself: ``repr`` / ``str`` are masked; ``reveal()`` gives it."""

    __slots__ = ("__value", "__weakref__")

    def __init__(self, value: str) -> None:
        self.__value = value

    def reveal(self) -> str:
        return self.__value

    def mask(self, text: str) -> str:
        """``text`` with this secret replaced by ``***`` (a string too short to be a credential
        is left alone: masking it would mangle ordinary words)."""
        if len(self.__value) >= MIN_SECRET_LEN and self.__value in text:
            return text.replace(self.__value, "***")
        return text

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __reduce__(self) -> Any:  # never pickled into a notebook or a cache
        raise TypeError("an API key is not picklable")


def register(secret: Secret) -> Secret:
    """Mask ``secret`` in every log record and scrubbed message from now on."""
    with _SECRETS_LOCK:
        _SECRETS.add(secret)
    return secret


# ---- logging redaction ------------------------------------------------------------------------

#: every key in use in this process (held by transports; gone with them)
_SECRETS: weakref.WeakSet[Secret] = weakref.WeakSet()
_SECRETS_LOCK = threading.Lock()


class RedactingFilter(logging.Filter):
    """Masks every live key (and anything shaped like one) in a record's message and args."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is not ours to fix; leave the record alone
            return True
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


#: keys shorter than this are not scrubbed from log text (real keys are ``sk_live_`` + 16 or more)
MIN_SECRET_LEN = 8


def scrub(text: str) -> str:
    """``text`` with every live key replaced by ``***``, then key-shaped tokens masked."""
    with _SECRETS_LOCK:
        secrets = list(_SECRETS)
    for secret in secrets:
        text = secret.mask(text)
    return redact(text)


_FILTER = RedactingFilter()
# Logger filters do not apply to records propagated from child loggers, so every package logger
# gets it (and urllib3's, which logs request lines).
for _name in (
    *(
        f"kubeez_nb.{m}"
        for m in [
            "http",
            "client",
            "job",
            "ledger",
            "cache",
            "media",
            "batch",
            "history",
            "magics",
            "progress",
            "report",
            "widgets",
        ]
    ),
    "kubeez_nb",
    "urllib3",
    "urllib3.connectionpool",
    "requests",
):
    logging.getLogger(_name).addFilter(_FILTER)


class _KeyAuth(requests.auth.AuthBase):
    """Attaches the key header at send time, so no frame of ours holds the key in a local."""

    __slots__ = ("_secret",)

    def __init__(self, secret: Secret) -> None:
        self._secret = secret

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers[KEY_HEADER] = self._secret.reveal()
        return r

    def __repr__(self) -> str:
        return "_KeyAuth('***')"
