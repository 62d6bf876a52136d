"""Removing the console credentials, in every encoding, from text that leaves the client.

A console can echo what it was sent: the password plain, URL-encoded or JSON-escaped, the
``Authorization`` value (``user:password`` in base64), or the token it issued (which need
not be a JWT).  :class:`Redactor` knows the configured secrets and the tokens issued so
far and replaces each of their forms with ``***`` in any text bound for an exception or a
log line.  It never shortens a secret to a prefix: callers redact *before* they fold or
cut text.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections import deque
from urllib.parse import quote, quote_plus

MASK = "***"
#: Tokens remembered for redaction (the current one and a few before it).
_TOKENS_KEPT = 8
_JWT = re.compile(r"eyJ[\w-]*\.[\w-]+\.[\w-]*")
_AUTH_VALUE = re.compile(r"(?i)\b(bearer|basic)\s+\S+")


def encoded_forms(secret: str) -> set[str]:
    """The forms in which ``secret`` may come back: plain, folded, URL, JSON and base64."""
    if not secret:
        return set()
    forms = {
        secret,
        " ".join(secret.split()),
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
    }
    forms |= _base64_forms(secret.encode())
    return {form for form in forms if form}


def _base64_forms(raw: bytes) -> set[str]:
    encoded = {base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()}
    return encoded | {form.rstrip("=") for form in encoded}


class Redactor:
    """Replaces every known secret form, ``Bearer``/``Basic`` values and JWTs with ``***``.

    Thread-safe: tokens are added by whichever thread authenticates.
    """

    def __init__(self, user: str, password: str) -> None:
        forms = encoded_forms(password)
        forms |= _base64_forms(f"{user}:{password}".encode())
        self._fixed = frozenset(form for form in forms if form)
        self._tokens: deque[str] = deque(maxlen=_TOKENS_KEPT)
        self._lock = threading.Lock()
        self._pattern = self._compile()

    def add_token(self, token: str) -> None:
        """Redact ``token`` (in every form) from now on."""
        with self._lock:
            if token and token not in self._tokens:
                self._tokens.append(token)
                self._pattern = self._compile()

    def __call__(self, text: str) -> str:
        pattern = self._pattern  # one consistent snapshot; replaced atomically
        if pattern is not None:
            text = pattern.sub(MASK, text)
        text = _AUTH_VALUE.sub(rf"\1 {MASK}", text)
        return _JWT.sub(MASK, text)

    def _compile(self) -> re.Pattern[str] | None:
        forms = set(self._fixed)
        for token in self._tokens:
            forms |= encoded_forms(token)
        if not forms:
            return None
        # Longest first, so a form that contains another is removed whole.
        alternatives = sorted(forms, key=len, reverse=True)
        return re.compile("|".join(re.escape(form) for form in alternatives), re.IGNORECASE)
