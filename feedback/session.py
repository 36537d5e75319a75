"""Anonymous session ids, signed so that a visitor's browser cannot claim another visitor's votes.

A token is "<id>.<signature>": the id is 16 random hex digits (nothing about the person), the signature an
HMAC-SHA256 of it under the app's secret (`core.settings.session_secret`, HANDS_SESSION_SECRET). The store keeps
only the id. The browser keeps the token (gr.BrowserState), so the same visitor keeps one id across visits.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets


def _signature(session: str, secret: str) -> str:
    return hmac.new(secret.encode(), session.encode(), hashlib.sha256).hexdigest()[:32]


def new_token(secret: str) -> str:
    """A fresh anonymous session id with its signature."""
    session = secrets.token_hex(8)
    return f"{session}.{_signature(session, secret)}"


def session_of(token: object, secret: str) -> str | None:
    """The session id a token carries, or None when it is missing, malformed or not signed with `secret`."""
    if not isinstance(token, str) or token.count(".") != 1 or len(token) > 64:
        return None
    session, signature = token.split(".")
    if len(session) != 16 or not hmac.compare_digest(signature, _signature(session, secret)):
        return None
    return session
