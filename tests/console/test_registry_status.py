"""``registry_status()``: when the last regular scan completed and its recent errors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest

from bot.console.client import ConsoleClient
from bot.console.errors import UnexpectedResponse
from bot.console.models import parse_registry_status
from bot.domain.console_types import RegistryStatus
from tests.console.conftest import FakeConsole

MakeClient = Callable[..., ConsoleClient]


def test_the_documented_scan_status_is_read() -> None:
    status = parse_registry_status(
        {
            "completed": True,
            "errors": ["No available Defender was found", "registry timeout"],
            "hostname": "defender-1",
            "scanTime": "2024-05-01T12:30:00Z",
            "scanning": False,
            "selective": False,
        }
    )
    assert status == RegistryStatus(
        completed_at=datetime(2024, 5, 1, 12, 30, tzinfo=UTC),
        errors=("No available Defender was found", "registry timeout"),
        scanning=False,
    )


@pytest.mark.parametrize("payload", [None, {}, {"scanTime": "0001-01-01T00:00:00Z"}])
def test_a_console_that_never_scanned_has_no_completion_time(payload: object) -> None:
    assert parse_registry_status(payload) == RegistryStatus()


def test_odd_fields_fall_back_to_defaults() -> None:
    status = parse_registry_status(
        {"errors": ["real", 5, None, "  ", {"e": 1}], "scanTime": 17, "scanning": "yes"}
    )
    assert status == RegistryStatus(errors=("real",))


def test_many_and_long_errors_are_bounded() -> None:
    status = parse_registry_status({"errors": [f"e{n} " + "x" * 1000 for n in range(100)]})
    assert len(status.errors) == 20
    assert status.errors[-1].startswith("e99 ")
    assert all(len(error) <= 500 for error in status.errors)


@pytest.mark.parametrize("payload", [[], "ok", 3, True])
def test_a_status_that_is_not_an_object_is_unexpected(payload: object) -> None:
    with pytest.raises(UnexpectedResponse, match="statuses/registry"):
        parse_registry_status(payload)


def test_registry_status_asks_the_versioned_endpoint(
    fake: FakeConsole, make_client: MakeClient
) -> None:
    answer = {"errors": ["No available Defender was found"], "scanTime": "2024-05-01T12:30:00Z"}
    fake.script("statuses/registry", httpx.Response(200, json=answer))
    status = make_client().registry_status()
    assert status.errors == ("No available Defender was found",)
    assert status.completed_at == datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    (request,) = fake.calls("statuses/registry")
    assert request.method == "GET"
    assert request.url.path == "/api/v34.04/statuses/registry"
    assert request.headers["Authorization"].startswith("Bearer ")
