"""What ``--dry-run`` / ``estimate`` show, and the one-line estimate text."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from kubeez_nb.contract.kinds import KINDS


@dataclass
class DryRun:
    """What ``--dry-run`` / ``estimate`` would send: the body, the estimate and the job count."""

    body: dict[str, Any]
    estimate: Any
    count: int = 1
    endpoint: str = KINDS["media"].post_path
    label: str = ""

    @property
    def credits(self) -> float | None:
        """Estimated credits for all ``count`` jobs (None when the price depends on the server)."""
        one = _credits(self.estimate)
        return None if one is None else one * self.count

    def _text(self) -> str:
        times = f"{self.count} × " if self.count > 1 else ""
        return (
            f"Nothing sent. This would POST {times}{self.endpoint}\n"
            f"{json.dumps(self.body, indent=2, ensure_ascii=False)}\n"
            f"{self.label + ': ' if self.label else ''}{_estimate_line(self.estimate, self.count)}"
        )

    def __repr__(self) -> str:
        return self._text()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        import html

        return {"text/plain": self._text(), "text/html": f"<pre>{html.escape(self._text())}</pre>"}


def _credits(estimate: Any) -> float | None:
    if estimate is None:
        return None
    try:
        return float(estimate)
    except (TypeError, ValueError):
        return None


def _estimate_line(estimate: Any, count: int = 1) -> str:
    """``14 credits (flat price per generation)``, or ``56 credits for 4 jobs (14 … each)``."""
    one = _credits(estimate)
    if one is None:
        return "price known after the job (the server measures the media)"
    text = str(estimate) if hasattr(estimate, "breakdown") else f"{one:g} credits"
    if count == 1:
        return text
    return f"{one * count:g} credits for {count} jobs ({text} each)"
