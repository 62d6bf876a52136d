"""Regressions from review: redaction before folding/cutting, absurd dates and nesting."""

from __future__ import annotations

from bot.console.auth import Token
from bot.console.models import parse_progress
from bot.console.wire import error_detail


def test_a_password_with_inner_whitespace_is_removed_before_the_text_is_folded() -> None:
    detail = error_detail("bad password Tr0ub4dor  &3 given", None, "Tr0ub4dor  &3")
    assert "Tr0ub4dor" not in detail


def test_a_password_straddling_the_cut_leaves_no_prefix() -> None:
    secret = "S3cretPassw0rdS3cretPassw0rd"
    detail = error_detail("x" * 290 + secret, None, secret)
    assert "S3cr" not in detail


def test_a_json_escaped_password_is_removed() -> None:
    secret = 'se"cret\\x9'
    detail = error_detail('bad body: {"password":"se\\"cret\\\\x9"}', None, secret)
    assert "cret" not in detail


def test_a_start_time_beyond_datetimes_range_is_treated_as_absent() -> None:
    (entry,) = parse_progress(
        [{"isScanOngoing": True, "specScanStartTime": "9999-12-31T23:30:00-01:00"}]
    )
    assert entry.spec_scan_start_time is None


def test_a_tokens_repr_never_shows_the_token() -> None:
    token = Token(value="eyJhbGciOiJIUzI1NiJ9.e30.sig", obtained_at=0.0, expires_at=1.0)
    assert "eyJ" not in repr(token)
