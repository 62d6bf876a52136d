"""Images of the sandbox console and their deterministic scan results.

:class:`ImageRef` names an image the way the scan API does; :func:`scan_result` builds a
``shared.ImageScanResult``-like summary whose counts derive from a hash of the image name,
so the same image always shows the same findings.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class ImageRef:
    """One image as the scan API names it; ``""`` stands for an absent part."""

    repo: str
    tag: str = ""
    digest: str = ""
    registry: str = ""

    @property
    def key(self) -> str:
        """``[registry/]repo[:tag][@digest]`` (the same form as ``ScanTarget.key``)."""
        text = f"{self.registry}/{self.repo}" if self.registry else self.repo
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text

    @classmethod
    def from_key(cls, key: str) -> ImageRef:
        """Parse a key like ``library/alpine:3.16`` or ``reg.example.com:5000/app@sha256:..``."""
        rest, _, digest = key.partition("@")
        slash = rest.rfind("/")
        colon = rest.rfind(":")
        tag = ""
        if colon > slash:
            rest, tag = rest[:colon], rest[colon + 1 :]
        registry = ""
        first, sep, remainder = rest.partition("/")
        if sep and ("." in first or ":" in first or first == "localhost"):
            registry, rest = first, remainder
        if not rest or not (tag or digest):
            raise ValueError(f"not an image key with a tag or digest: {key!r}")
        return cls(repo=rest, tag=tag, digest=digest, registry=registry)

    def names(self) -> set[str]:
        """Every full name the ``name`` filter of ``GET /registry`` accepts for this image."""
        names = {self.key}
        host = self.registry or "docker.io"
        if self.tag:
            names.add(f"{host}/{self.repo}:{self.tag}")
        if self.digest:
            names.add(f"{host}/{self.repo}@{self.digest}")
        return names


def iso(epoch: float) -> str:
    """RFC 3339 in UTC the way Go writes it: ``2024-05-01T10:00:00Z``, fraction only if any."""
    moment = datetime.fromtimestamp(epoch, UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}".rstrip("0")
    return text + "Z"


def _digest_of(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _distribution(seed: bytes, limits: tuple[int, int, int, int]) -> dict[str, int]:
    critical, high, medium, low = (seed[i] % (limit + 1) for i, limit in enumerate(limits))
    total = critical + high + medium + low
    return {"critical": critical, "high": high, "medium": medium, "low": low, "total": total}


_DISTROS = (("alpine", "3.16"), ("debian", "bookworm"), ("ubuntu", "jammy"), ("rhel", "9.4"))


def scan_result(ref: ImageRef, scanned_epoch: float, error: str = "") -> dict[str, Any]:
    """A ``shared.ImageScanResult``-like summary; counts derive from a hash of the name."""
    seed = hashlib.sha256(f"{ref.registry}/{ref.repo}:{ref.tag}@{ref.digest}".encode()).digest()
    if error:  # a failed scan found nothing
        seed = bytes(len(seed))
    vulns = _distribution(seed[0:4], (3, 9, 24, 39))
    compliance = _distribution(seed[4:8], (1, 4, 6, 3))
    named = [d for d in _DISTROS if d[0] in ref.repo]  # library/alpine runs alpine
    distro, release = named[0] if named else _DISTROS[seed[8] % len(_DISTROS)]
    image_id = _digest_of("id:" + ref.key)
    digest = ref.digest or _digest_of("digest:" + ref.key)
    repo_tag = {"registry": ref.registry, "repo": ref.repo, "tag": ref.tag}
    if ref.digest:
        repo_tag["digest"] = ref.digest
    risk = vulns["critical"] * 10 + vulns["high"] * 4 + vulns["medium"] * 1.5 + vulns["low"] * 0.5
    return {
        "_id": image_id,
        "id": image_id,
        "type": "registry",
        "hostname": "sandbox-defender",
        "repoTag": repo_tag,
        "tags": [dict(repo_tag)],
        "repoDigests": [f"{ref.repo}@{digest}"],
        "scanTime": iso(scanned_epoch),
        "osDistro": distro,
        "osDistroRelease": release,
        "vulnerabilitiesCount": vulns["total"],
        "vulnerabilityDistribution": vulns,
        "complianceIssuesCount": compliance["total"],
        "complianceDistribution": compliance,
        "vulnerabilityRiskScore": round(risk, 2),
        "err": error,
        **_details(ref, seed, vulns["total"], distro),
    }


def _details(ref: ImageRef, seed: bytes, vulnerabilities: int, distro: str) -> dict[str, Any]:
    """Small fake contents of the arrays a real full answer carries (compact nulls them)."""
    severities = ("critical", "high", "medium", "low")
    return {
        "vulnerabilities": [
            {
                "cve": f"CVE-2024-{1000 + (seed[12 + n % 16] * 37 + n) % 9000}",
                "severity": severities[n % 4],
                "packageName": f"{distro}-pkg-{n}",
                "packageVersion": f"1.{n}.0",
                "status": f"fixed in 1.{n}.1",
            }
            for n in range(min(vulnerabilities, 3))
        ],
        "packages": [
            {
                "pkgsType": "package",
                "pkgs": [{"name": f"{distro}-pkg-{n}", "version": f"1.{n}.0"} for n in range(3)],
            }
        ],
        "binaries": [{"name": "sh", "path": "/bin/sh", "md5": _digest_of(ref.key)[7:39]}],
        "history": [
            {
                "created": 1_700_000_000,
                "instruction": f"ADD {distro}-rootfs.tar /",
                "sizeBytes": 7_340_032,
            },
            {"created": 1_700_000_060, "instruction": 'CMD ["/bin/sh"]', "sizeBytes": 0},
        ],
    }


#: What a real console's ``compact=true`` answer nulls; counts, distributions and the risk
#: score stay.
_COMPACT_NULLED = ("vulnerabilities", "packages", "binaries", "history")
_SORT_KEYS = frozenset({"", "scanTime", "id"})


@dataclass(frozen=True, slots=True)
class ResultQuery:
    """Filters of ``GET /registry``; an empty tuple means "no filter"."""

    names: tuple[str, ...] = ()
    repositories: tuple[str, ...] = ()
    registries: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()
    compact: bool = False
    offset: int = 0
    limit: int = 50
    sort: str = ""  # "" (image name), "scanTime" or "id"
    reverse: bool = False

    def __post_init__(self) -> None:
        if self.sort not in _SORT_KEYS:
            raise ValueError(f"sort must be one of {sorted(_SORT_KEYS - {''})}")

    def present(self, body: dict[str, Any]) -> dict[str, Any]:
        """A copy of one result as this query shows it (``compact`` nulls the big arrays)."""
        shown = copy.deepcopy(body)
        if self.compact:
            shown.update(dict.fromkeys(_COMPACT_NULLED))
        return shown

    def order(self, records: list[ResultRecord]) -> list[ResultRecord]:
        """``records`` sorted by ``sort`` (image name by default), ``reverse`` honoured."""

        def key(record: ResultRecord) -> tuple[Any, str]:
            if self.sort == "scanTime":
                moment = datetime.fromisoformat(str(record.body["scanTime"]).replace("Z", "+00:00"))
                return moment, record.ref.key
            if self.sort == "id":
                return str(record.body["id"]), record.ref.key
            return record.ref.key, ""

        return sorted(records, key=key, reverse=self.reverse)


@dataclass(slots=True)
class ResultRecord:
    ref: ImageRef
    body: dict[str, Any] = field(default_factory=dict)

    def matches(self, query: ResultQuery) -> bool:
        registry_names = {self.ref.registry} | (
            {"docker.io", ""} if not self.ref.registry else set()
        )
        return (
            (not query.names or bool(self.ref.names() & set(query.names)))
            and (not query.repositories or self.ref.repo in query.repositories)
            and (not query.registries or bool(registry_names & set(query.registries)))
            and (not query.ids or self.body["id"] in query.ids)
        )


def split_values(values: Iterable[str]) -> tuple[str, ...]:
    """Query array values: repeated parameters and comma-separated lists both work."""
    return tuple(part.strip() for value in values for part in value.split(",") if part.strip())
