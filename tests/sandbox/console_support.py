"""Helpers for the sandbox console tests: clients, login, progress shortcuts."""

from __future__ import annotations

import base64
import json
import ssl
from functools import cache
from typing import Any

import httpx

USER, PASSWORD = "sandbox", "sandbox-password"
BASIC = (USER, PASSWORD)
V = "/api/v34.04"
ALPINE = {"onDemand": "true", "repo": "library/alpine", "tag": "3.16"}


@cache
def tls_context() -> ssl.SSLContext:
    """One TLS context for every client: building one per client costs ~50 ms (plain HTTP here)."""
    return ssl.create_default_context()


def make_client(base_url: str, **options: Any) -> httpx.Client:
    return httpx.Client(base_url=base_url, verify=tls_context(), **{"timeout": 5, **options})


def login(client: httpx.Client, user: str = USER, password: str = PASSWORD) -> str:
    answer = client.post(f"{V}/authenticate", json={"username": user, "password": password})
    assert answer.status_code == 200, answer.text
    token = answer.json()["token"]
    assert isinstance(token, str)
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def jwt_claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert isinstance(claims, dict)
    return claims


def progress(http: httpx.Client, **params: str) -> list[dict[str, Any]]:
    answer = http.get(f"{V}/registry/progress", params=params)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert isinstance(body, list)
    return body


def counts(entry: dict[str, Any]) -> tuple[int, int, int, int, bool]:
    d, i = entry["discovery"], entry["imageScan"]
    return d["scanned"], d["total"], i["scanned"], i["total"], entry["isScanOngoing"]
