"""Configuration of the simulated console and the record of a request it received."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SandboxConsoleConfig:
    """How the simulated console behaves; all fields have demo-friendly defaults."""

    user: str = "sandbox"
    password: str = "sandbox-password"  # noqa: S105 - a sandbox credential, printed on purpose
    version: str = "34.04.145"
    token_ttl_seconds: float = 600
    step_seconds: float = 1.0
    served_api_versions: frozenset[str] | None = None  # None: v1 + v<major>.<minor> of version
    #: Image keys like ``"library/alpine:3.16"`` whose on-demand scan starts when a client
    #: first asks about it (so the first client sees both steps).
    seed_on_demand: tuple[str, ...] = ()
    seed_regular_scan: bool = False
    #: Size of an on-demand scan requested with ``POST /registry/scan``: discovery items
    #: and images (each takes ``step_seconds``).
    requested_scan_discovery: int = 1
    requested_scan_images: int = 1
    #: How long ago the last regular scan (before this sandbox started) completed, as
    #: ``GET /statuses/registry`` reports it; None: the console never completed one.
    previous_regular_scan_age_seconds: float | None = 3 * 3600.0
    #: How long after its final progress answer an on-demand scan's result is written to
    #: ``GET /registry`` (0: at once, as the scan ends); None: never written, the image keeps
    #: the result it had (a seeded old one, or none).
    result_delay_seconds: float | None = 0.0

    def api_versions(self) -> frozenset[str]:
        """The served ``/api/<version>/`` prefixes (``"*"``: any ``v1`` / ``vNN.NN``)."""
        if self.served_api_versions is not None:
            return self.served_api_versions
        return frozenset({"v1", "v" + ".".join(self.version.split(".")[:2])})


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the console saw it, without credentials."""

    method: str
    path: str
    query: dict[str, list[str]]
    authorization_scheme: str | None
    body: object | None
    at: float  # clock time when it arrived
    user_agent: str | None = None  # the client's User-Agent header
