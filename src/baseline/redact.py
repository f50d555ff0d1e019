"""Keep secrets out of everything baseline writes or prints.

Three nets: the values of secret-named environment variables; every credential an SDK resolved
for this process (boto3's chain reads profiles, config and credential files, SSO caches and
instance roles, not only the environment: adapters hand what it resolved to :func:`register_secret`,
as do the Azure and OpenAI adapters for their keys); and common key formats (AKIA.../ASIA... ids,
``token=...``, signatures, bearer tokens).
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Mapping
from typing import Any

_PATTERNS = [
    re.compile(r"(?<![A-Z0-9])(AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])"),                  # AWS access key ids
    re.compile(r"(?i)(authorization|x-amz-security-token|ocp-apim-subscription-key|api[-_]?key|"
               r"aws_secret_access_key|aws_session_token|secret|password|token)(\s*[:=]\s*|['\"]\s*:\s*['\"])([^\s'\",;]+)"),
    re.compile(r"(?i)(Signature|X-Amz-Signature|sig)=([0-9a-fA-F%A-Za-z+/=]{16,})"),
    re.compile(r"(?i)Bearer\s+[A-Za-z0-9._\-+/=]{8,}"),
]
_SECRET_ENV = re.compile(r"(KEY|SECRET|TOKEN|PASSWORD|CREDENTIAL)", re.I)
MASK = "***"
MIN_SECRET_CHARS = 8  # shorter values would mask ordinary words

_registered: set[str] = set()
_lock = threading.Lock()


def register_secret(*values: Any) -> None:
    """Remember credentials an SDK resolved (keys, secrets, session tokens) so they are masked everywhere."""
    with _lock:
        for v in values:
            if isinstance(v, str) and len(v) >= MIN_SECRET_CHARS:
                _registered.add(v)


def register_aws_credentials(credentials: Any) -> None:
    """boto3/botocore credentials (``Session.get_credentials()``): access key, secret key, session token."""
    if credentials is None:
        return
    held = vars(credentials) if hasattr(credentials, "__dict__") else {}
    # the values the object holds now, read without triggering a refresh (RefreshableCredentials keeps
    # them as _access_key, ...; a refresh later goes through the adapter's client and is registered then)
    register_secret(*(held.get(k) or held.get(f"_{k}") for k in ("access_key", "secret_key", "token")))


def _env_secrets() -> list[str]:
    return [v for k, v in os.environ.items() if _SECRET_ENV.search(k) and v and len(v) >= MIN_SECRET_CHARS]


def _secrets() -> list[str]:
    with _lock:
        known = set(_registered)
    return sorted(known.union(_env_secrets()), key=len, reverse=True)


def redact(text: str, secrets: list[str] | None = None) -> str:
    """Mask credentials: resolved SDK credentials, secret-named environment variables, common key formats."""
    if not text:
        return text
    for secret in _secrets() if secrets is None else secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    text = _PATTERNS[0].sub(MASK, text)
    text = _PATTERNS[1].sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    text = _PATTERNS[2].sub(lambda m: f"{m.group(1)}={MASK}", text)
    text = _PATTERNS[3].sub(f"Bearer {MASK}", text)
    return text


def _plain_scores(dicts: list[dict[Any, Any]], one: Any) -> bool:
    """Every dict has string keys that redaction leaves as they are, from a few key sets, and only numbers (or None)
    as values: nothing in them to mask, so they are kept as they are instead of copied one by one."""
    keysets = {tuple(d) for d in dicts}
    if len(keysets) > 8:
        return False
    keys = set().union(*keysets)
    if not all(isinstance(k, str) and one(k) == k for k in keys):
        return False
    return {type(v) for d in dicts for v in d.values()} <= {float, int, type(None)}


def redact_tree(obj: Any, secrets: list[str] | None = None) -> Any:
    """``redact`` applied to every string (keys and values) in nested dicts, lists and tuples."""
    secrets = _secrets() if secrets is None else secrets
    memo: dict[str, str] = {}  # per-item labels and score keys repeat: each distinct string is redacted once

    def one(s: str) -> str:
        r = memo.get(s)
        if r is None:
            r = memo[s] = redact(s, secrets)
        return r

    seen: dict[int, Any] = {}  # a dict shared by many items (one score dict for every row) is copied once

    def walk(o: Any) -> Any:
        t = type(o)
        if t is float or t is int or o is None or t is bool:  # most of a large tree: per-item figures
            return o
        if isinstance(o, str):
            return one(o)
        if isinstance(o, Mapping):   # dicts, and read-only views (``scorerows.ScoreRow``) written out as dicts
            r = seen.get(id(o))
            if r is None:
                r = seen[id(o)] = {one(k) if isinstance(k, str) else k: walk(v) for k, v in o.items()}
            return r
        if t is list:
            if len(o) > 256:  # per-item lists: labels, None, one shared score dict — each distinct value once
                kinds = set(map(type, o))
                if kinds <= {str, type(None)}:
                    done = {v: one(v) for v in set(o) if v is not None}
                    if all(k == r for k, r in done.items()):  # nothing to mask (the usual case): a plain copy
                        return list(o)
                    return [None if v is None else done[v] for v in o]
                if kinds == {dict} and _plain_scores(o, one):  # class scores: label keys, numbers
                    return list(o)
            return [walk(v) for v in o]
        if isinstance(o, list | tuple):
            return type(o)(walk(v) for v in o)
        return o

    return walk(obj)


def one_line(exc: BaseException, limit: int = 300) -> str:
    """An exception as one redacted line: 'Type: message'."""
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    line = f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__
    return redact(line)[:limit]
