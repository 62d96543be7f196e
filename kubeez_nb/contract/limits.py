"""The service's documented limits (rate-limit groups and window, upload and asset caps), for the
emulator and the client alike. The values live in :mod:`kubeez_nb._config`."""

from __future__ import annotations

from kubeez_nb._config import ASSET_QUOTA_BYTES, MAX_UPLOAD_BYTES, RATE_LIMITS, RATE_WINDOW_S

__all__ = ["ASSET_QUOTA_BYTES", "MAX_UPLOAD_BYTES", "RATE_LIMITS", "RATE_WINDOW_S"]
