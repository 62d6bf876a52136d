"""The simulated console's HTTP API: routing, authentication and the endpoints.

See :mod:`bot.sandbox.console.server` for what each endpoint answers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.sandbox.console.config import SandboxConsoleConfig
from bot.sandbox.console.http import (
    RateLimiter,
    Request,
    TokenIssuer,
    basic_matches,
    credentials_match,
    error,
    json_response,
)
from bot.sandbox.console.images import ImageRef, ResultQuery, split_values
from bot.sandbox.console.state import ScanSimulator
from bot.sandbox.http import HttpResponse

_VERSION_PATH = re.compile(r"^/api/(v\d+(?:\.\d+)?)/(.+)$")
_MAX_LIMIT = 250
_IMAGE_PARAMS = ("repo", "tag", "digest", "registry")
#: Endpoints a console older than 30.02 does not have.
_NEWER_THAN_OLD_CONSOLES = frozenset({"registry/progress"})


@dataclass
class Mode:
    """Console-wide behaviour switched by the test and demo API."""

    old_version: str | None = None  # "console too old": this /version, 404 on registry/progress


@dataclass
class ConsoleRoutes:
    """Answers parsed requests from the console's state."""

    config: SandboxConsoleConfig
    state: ScanSimulator
    tokens: TokenIssuer
    limiter: RateLimiter
    mode: Mode = field(default_factory=Mode)

    def __post_init__(self) -> None:
        self._versions = self.config.api_versions()
        self._credentials = (self.config.user, self.config.password)
        self._routes: dict[str, tuple[str, Callable[[Request], HttpResponse]]] = {
            "version": ("GET", self._version),
            "registry": ("GET", self._results),
            "registry/progress": ("GET", self._progress),
            "registry/scan": ("POST", self._scan),
            "registry/stop": ("POST", self._stop_regular),
            "statuses/registry": ("GET", self._registry_status),
        }

    def route(self, request: Request) -> HttpResponse:
        match = _VERSION_PATH.match(request.path)
        if match is None:
            return error(404, f"not found: {request.path}")
        version, endpoint = match.groups()
        if version not in self._versions and "*" not in self._versions:
            return error(404, f"API version {version} is not served by this console")
        if endpoint == "_ping" and request.method == "GET":
            return HttpResponse(200)
        if endpoint == "authenticate" and request.method == "POST":
            return self._authenticate(request)
        if self.mode.old_version is not None and endpoint in _NEWER_THAN_OLD_CONSOLES:
            return HttpResponse(404, b"404 page not found\n", "text/plain; charset=utf-8")
        if endpoint not in self._routes:
            if endpoint in ("_ping", "authenticate"):
                return error(405, f"method {request.method} not allowed on {request.path}")
            return error(404, f"not found: {request.path}")
        method, endpoint_handler = self._routes[endpoint]
        if request.method != method:
            allow = ("Allow", method)
            return error(405, f"method {request.method} not allowed on {request.path}", allow)
        if not self._authorized(request.authorization):
            return error(401, "missing, invalid or expired credentials")
        if not request.body_ok:
            return error(400, "request body is not valid JSON")
        return endpoint_handler(request)

    def _authenticate(self, request: Request) -> HttpResponse:
        body = request.body
        if not isinstance(body, dict):
            return error(400, "expected a JSON object with username and password")
        user, password = body.get("username"), body.get("password")
        if not (
            isinstance(user, str)
            and isinstance(password, str)
            and credentials_match(user, password, self._credentials)
        ):
            return error(401, "invalid credentials")
        return json_response(200, {"token": self.tokens.issue(user, self.config.token_ttl_seconds)})

    def _authorized(self, authorization: str | None) -> bool:
        scheme, _, value = (authorization or "").partition(" ")
        if scheme.lower() == "basic":
            return basic_matches(value, self._credentials)
        return scheme.lower() == "bearer" and self.tokens.valid(value)

    # --- endpoints --------------------------------------------------------------------
    def _version(self, request: Request) -> HttpResponse:
        return json_response(200, self.mode.old_version or self.config.version)

    def _progress(self, request: Request) -> HttpResponse:
        flag = request.param("onDemand", "false").lower()
        if flag not in ("true", "false"):
            return error(400, "onDemand must be true or false")
        params = {k: request.param(k) for k in _IMAGE_PARAMS if k in request.query}
        if flag == "false":
            if params:
                return error(
                    400, f"{', '.join(sorted(params))}: on-demand parameters need onDemand=true"
                )
            return json_response(200, self.state.regular_progress())
        if not params.get("repo"):
            return error(400, "repo is required with onDemand=true")
        if not (params.get("tag") or params.get("digest")):
            return error(400, "tag or digest is required with onDemand=true")
        return json_response(200, self.state.on_demand_progress(ImageRef(**params)))

    def _scan(self, request: Request) -> HttpResponse:
        body = {} if request.body is None else request.body
        if not isinstance(body, dict):
            return error(400, "expected a shared.RegistryScanRequest JSON object")
        tag, settings = body.get("tag") or {}, body.get("settings") or {}
        on_demand = body.get("onDemandScan", False)
        if not isinstance(tag, dict) or not isinstance(settings, dict):
            return error(400, "tag and settings must be JSON objects")
        fields = {k: tag.get(k) or "" for k in _IMAGE_PARAMS}
        if not isinstance(on_demand, bool) or not all(isinstance(v, str) for v in fields.values()):
            return error(400, "onDemandScan must be a boolean and tag fields strings")
        if not on_demand:
            registry = fields["registry"] or settings.get("registry")
            self.state.restart_regular(registry if isinstance(registry, str) else None)
            return HttpResponse(200)
        if not fields["repo"]:
            return error(400, "tag.repo is required for an on-demand scan")
        if not (fields["tag"] or fields["digest"]):
            return error(400, "tag.tag or tag.digest is required for an on-demand scan")
        self.state.start_on_demand(
            ImageRef(**fields),
            restart=False,
            discovery_total=self.config.requested_scan_discovery,
            images=self.config.requested_scan_images,
        )
        return HttpResponse(200)

    def _stop_regular(self, request: Request) -> HttpResponse:
        self.state.stop_regular()
        return HttpResponse(200)

    def _registry_status(self, request: Request) -> HttpResponse:
        return json_response(200, self.state.registry_status())

    def _results(self, request: Request) -> HttpResponse:
        retry_after = self.limiter.check(request.client)
        if retry_after is not None:
            return error(429, "rate limit exceeded", ("Retry-After", str(retry_after)))
        try:
            offset, limit = int(request.param("offset", "0")), int(request.param("limit", "0"))
        except ValueError:
            return error(400, "offset and limit must be integers")
        if offset < 0 or limit < 0:
            return error(400, "offset and limit must be >= 0")
        flags = {}
        for name in ("compact", "reverse"):
            value = request.param(name, "false").lower()
            if value not in ("true", "false"):
                return error(400, f"{name} must be true or false")
            flags[name] = value == "true"
        try:
            query = ResultQuery(
                names=split_values(request.query.get("name", [])),
                repositories=split_values(request.query.get("repository", [])),
                registries=split_values(request.query.get("registry", [])),
                ids=split_values(request.query.get("id", [])),
                compact=flags["compact"],
                offset=offset,
                limit=min(limit or 50, _MAX_LIMIT),
                sort=request.param("sort"),
                reverse=flags["reverse"],
            )
        except ValueError as err:
            return error(400, str(err))
        page, total = self.state.results(query)
        return json_response(200, page, ("Total-Count", str(total)))
