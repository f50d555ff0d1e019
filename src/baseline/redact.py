"""Keep secrets out of everything baseline writes or prints."""

from __future__ import annotations

import os
import re

_PATTERNS = [
    re.compile(r"(?<![A-Z0-9])(AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])"),                  # AWS access key ids
    re.compile(r"(?i)(authorization|x-amz-security-token|ocp-apim-subscription-key|api[-_]?key|"
               r"aws_secret_access_key|aws_session_token|secret|password|token)(\s*[:=]\s*|['\"]\s*:\s*['\"])([^\s'\",;]+)"),
    re.compile(r"(?i)(Signature|X-Amz-Signature|sig)=([0-9a-fA-F%A-Za-z+/=]{16,})"),
    re.compile(r"(?i)Bearer\s+[A-Za-z0-9._\-+/=]{8,}"),
]
_SECRET_ENV = re.compile(r"(KEY|SECRET|TOKEN|PASSWORD|CREDENTIAL)", re.I)
MASK = "***"


def _env_secrets() -> list[str]:
    return sorted((v for k, v in os.environ.items() if _SECRET_ENV.search(k) and v and len(v) >= 8),
                  key=len, reverse=True)


def redact(text: str) -> str:
    """Mask credentials: values of secret-named environment variables and common key formats."""
    if not text:
        return text
    for secret in _env_secrets():
        text = text.replace(secret, MASK)
    text = _PATTERNS[0].sub(MASK, text)
    text = _PATTERNS[1].sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    text = _PATTERNS[2].sub(lambda m: f"{m.group(1)}={MASK}", text)
    text = _PATTERNS[3].sub(f"Bearer {MASK}", text)
    return text


def one_line(exc: BaseException, limit: int = 300) -> str:
    """An exception as one redacted line: 'Type: message'."""
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    line = f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__
    return redact(line)[:limit]
