"""Credentials leave the client in no encoding: plain, folded, URL, JSON, base64, tokens."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable
from urllib.parse import quote, quote_plus

import httpx
import pytest

from bot.console.client import ConsoleClient
from bot.console.errors import ConsoleError
from bot.console.redact import Redactor, encoded_forms
from bot.console.wire import error_detail
from tests.console.conftest import PASSWORD as CONSOLE_PASSWORD
from tests.console.conftest import USER as CONSOLE_USER
from tests.console.conftest import FakeConsole

USER = "scanbot-user"
PASSWORD = 'p@ss w/rd+"é'


def every_form(secret: str) -> list[str]:
    raw = secret.encode()
    return [
        secret,
        quote(secret, safe=""),
        quote(secret, safe="").lower(),  # %2f as well as %2F
        quote_plus(secret),
        json.dumps(secret)[1:-1],
        base64.b64encode(raw).decode(),
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode(),
    ]


@pytest.mark.parametrize("form", every_form(PASSWORD))
def test_every_encoding_of_the_password_is_redacted(form: str) -> None:
    redact = Redactor(USER, PASSWORD)
    assert redact(f"the console said: bad value <{form}> given") == (
        "the console said: bad value <***> given"
    )


def test_base64_of_user_and_password_is_redacted() -> None:
    pair = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    assert Redactor(USER, PASSWORD)(f"got credentials {pair} from header") == (
        "got credentials *** from header"
    )


def test_a_non_jwt_token_is_redacted_once_issued() -> None:
    redact = Redactor(USER, PASSWORD)
    token = "opaque-token-0123456789"
    assert token in redact(f"invalid token {token}")
    redact.add_token(token)
    assert redact(f"invalid token {token} / {quote(token)}") == "invalid token *** / ***"


def test_authorization_values_and_jwts_are_redacted_without_knowing_them() -> None:
    text = "header Bearer abc.def Basic dXNlcjpwdw== jwt eyJhbGc.eyJzdWIi.sig"
    assert Redactor(USER, PASSWORD)(text) == "header Bearer *** Basic *** jwt ***"


def test_an_empty_secret_has_no_forms() -> None:
    assert encoded_forms("") == set()


def test_a_password_with_inner_whitespace_is_removed_before_the_text_is_folded() -> None:
    secret = "Tr0ub4dor  &3"
    detail = error_detail(f"bad password {secret} given", None, Redactor(USER, secret))
    assert "Tr0ub4dor" not in detail


def test_a_password_straddling_the_cut_leaves_no_prefix() -> None:
    secret = "S3cretPassw0rdS3cretPassw0rd"
    detail = error_detail("x" * 290 + secret, None, Redactor(USER, secret))
    assert "S3cr" not in detail


def test_a_json_escaped_password_is_removed() -> None:
    secret = 'se"cret\\x9'
    detail = error_detail('bad body: {"password":"se\\"cret\\\\x9"}', None, Redactor(USER, secret))
    assert "cret" not in detail


def test_no_encoded_secret_reaches_errors_hints_details_or_logs(
    fake: FakeConsole, make_client: Callable[..., ConsoleClient], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    opaque = "opaque-session-token-4711"  # a console token that is not a JWT
    fake.script("authenticate", httpx.Response(200, json={"token": opaque}))
    fake.valid_tokens.add(opaque)
    client = make_client()
    client.progress()
    pair = base64.b64encode(f"{CONSOLE_USER}:{CONSOLE_PASSWORD}".encode()).decode()
    echoes = [
        f"password={quote_plus(CONSOLE_PASSWORD)} rejected",
        f"bad credentials {pair}",
        f"bad password {base64.b64encode(CONSOLE_PASSWORD.encode()).decode()}",
        f'body {{"password": {json.dumps(CONSOLE_PASSWORD)}}}',
        f"session {opaque} unknown",
        f"session {quote(opaque)} unknown",
    ]
    fake.script("registry/progress", *[httpx.Response(400, json={"err": e}) for e in echoes])
    fake.script("registry/progress", *[httpx.ConnectError(f"refused {opaque}")] * 3)
    texts: list[str] = []
    for _ in range(len(echoes) + 1):
        with pytest.raises(ConsoleError) as caught:
            client.progress()
        error = caught.value
        texts += [str(error), repr(error), error.detail, error.hint]
        texts.append(getattr(error, "console_text", ""))
    text = "\n".join(texts) + caplog.text
    assert text.count("***") >= len(echoes)
    for secret in [CONSOLE_PASSWORD, opaque, pair, *every_form(CONSOLE_PASSWORD)]:
        assert secret not in text
