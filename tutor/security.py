"""Secrets never leave the process in what tutor prints: error lines, notices, verbose traces."""

from __future__ import annotations

import os
import re

_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD)$", re.I)
MASK = "***"


def secret_values() -> list[str]:
    """Values of environment variables whose names mark them as credentials (longest first)."""
    values = {v for k, v in os.environ.items() if _SECRET_NAME.search(k) and len(v) >= 6}
    return sorted(values, key=len, reverse=True)


def redact(text: str) -> str:
    for value in secret_values():
        text = text.replace(value, MASK)
    # Bearer tokens and sk-... keys that came from somewhere other than the environment.
    text = re.sub(r"(?i)(bearer\s+)[A-Za-z0-9._\-]{8,}", r"\1" + MASK, text)
    return re.sub(r"\bsk-[A-Za-z0-9_\-]{8,}", MASK, text)
