"""Image references typed by users -> :class:`ScanTarget`.

Accepted forms (see :func:`parse_image_reference`)::

    alpine 3.16                       alpine:3.16          library/alpine:3.16
    docker.io/library/alpine:3.16     alpine@sha256:<64 hex>   alpine sha256:<64 hex>
    us-west2-docker.pkg.dev/proj/repo/img:1.2
    registry.example.com:5000/team/app:tag     localhost:5000/app:1
    alpine:3.16@sha256:<64 hex>       (tag and digest)
    repo=team/app tag=1.2 digest=sha256:<hex> registry=registry.example.com:5000

Docker Hub official images become ``library/<name>``; Docker Hub's own host names
(``docker.io``, ``index.docker.io``, ``registry-1.docker.io``) are dropped, because the
console's Docker Hub registry is the default one and the API page queries
``repo=library/alpine`` without a registry.

The grammar is Docker's (``distribution/reference``): the first path component is a
registry host iff it contains ``.`` or ``:`` or is ``localhost``.  A reference without a
tag or digest is rejected (no silent ``latest``): the console's on-demand API needs one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from bot.domain.text import truncate

_MAX_INPUT = 1000  # characters of user text we look at all
_MAX_NAME = 255  # [registry/]repo, as in distribution/reference
_MAX_TAG = 128
_ECHO = 48  # at most this many characters of user input per quoted piece of a message
_DOCKER_HUB_HOSTS = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
_REGISTERED_DIGESTS = {"sha256": 64, "sha384": 96, "sha512": 128}
_QUOTES = "`'\"\u2018\u2019\u201c\u201d"
#: Look-alike characters earlier versions of scanbot showed in place of the real ones in
#: Slack (``registry\u2024example\u2024com``); text copied from such a message is read as
#: the characters they stood for.
_LOOK_ALIKES = str.maketrans(
    {
        "\u2024": ".",  # ONE DOT LEADER
        "\u02cb": "`",  # MODIFIER LETTER GRAVE ACCENT
        "\u02cd": "_",  # MODIFIER LETTER LOW MACRON
        "\u2217": "*",  # ASTERISK OPERATOR
        "\u223c": "~",  # TILDE OPERATOR
        "\u203a": ">",  # SINGLE RIGHT-POINTING ANGLE QUOTATION MARK
        "\ua789": ":",  # MODIFIER LETTER COLON
        "\u2236": ":",  # RATIO
        "\uff20": "@",  # FULLWIDTH COMMERCIAL AT
        "\uff03": "#",  # FULLWIDTH NUMBER SIGN
    }
)

_PATH_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_DOMAIN_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?")
_IPV6 = re.compile(r"\[[A-Fa-f0-9:]+\]")
_TAG = re.compile(r"\w[\w.-]*", re.ASCII)
_DIGEST = re.compile(r"([A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*):([0-9A-Fa-f]+)")
_SLACK_LINK = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")
_SCHEME = re.compile(r"(?:https?|oci|docker)://", re.IGNORECASE)
_LINK_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://|mailto:", re.IGNORECASE)

_EG_TAG = "e.g. alpine:3.16"
_EG_DIGEST = "e.g. alpine@sha256:<64 hex digits>"
_EG_PATH = "e.g. team/app:1.0"
_EG_KV = "e.g. repo=team/app tag=1.0"
_EG_REGISTRY = "e.g. registry.example.com:5000/team/app:1.0"


class ImageReferenceError(ValueError):
    """The text is not an image reference; the message says what is wrong and shows an example."""


@dataclass(frozen=True, slots=True)
class ScanTarget:
    """One image as the console's on-demand scan API names it.

    ``repo`` is required, and at least one of ``tag`` / ``digest``.  ``registry`` is
    ``None`` unless the user named a registry other than Docker Hub.

    The constructor only checks those two rules, so stored or console-supplied values are
    always representable; :func:`parse_image_reference` produces targets that also
    follow the full reference grammar, in canonical form (registry host in lower case,
    as host names are case-insensitive).
    """

    repo: str
    tag: str | None = None
    digest: str | None = None
    registry: str | None = None

    def __post_init__(self) -> None:
        if not self.repo:
            raise ImageReferenceError("an image needs a repository, e.g. alpine:3.16")
        if self.tag is None and self.digest is None:
            name = _show(self.repo.removeprefix("library/"))
            raise ImageReferenceError(
                f"'{name}' needs a tag or a digest, e.g. {name}:latest or {name}@sha256:..."
            )

    @property
    def key(self) -> str:
        """Canonical reference, unique per image: ``[registry/]repo[:tag][@digest]``.

        Used to deduplicate console requests and as the database key of a watch.
        """
        text = f"{self.registry}/{self.repo}" if self.registry else self.repo
        if self.tag is not None:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text

    def display(self) -> str:
        """Short human form: ``alpine:3.16`` for Docker Hub official images, else :attr:`key`.

        ``library/`` is only dropped where that is unambiguous (one more path component),
        so the display form parses back to the same target.
        """
        key = self.key
        name = self.repo.removeprefix("library/")
        if self.registry is None and name != self.repo and "/" not in name:
            return key.removeprefix("library/")
        return key

    def query_params(self) -> dict[str, str]:
        """Query parameters naming this image (without ``onDemand``; the client adds it)."""
        params = {"repo": self.repo}
        if self.tag is not None:
            params["tag"] = self.tag
        if self.digest is not None:
            params["digest"] = self.digest
        if self.registry is not None:
            params["registry"] = self.registry
        return params

    def image_tag(self) -> dict[str, str]:
        """The ``shared.ImageTag`` object for ``POST /registry/scan``."""
        return self.query_params()


def parse_image_reference(text: str) -> ScanTarget:
    """Parse what a user typed into a :class:`ScanTarget`.

    Tolerates surrounding whitespace and quotes, runs of spaces, a leading ``https://``
    and Slack's auto-links (``<http://host|host>`` -> ``host``).  Raises
    :class:`ImageReferenceError` (and nothing else) for any other text.
    """
    if not isinstance(text, str):
        raise ImageReferenceError(f"an image reference is text, {_EG_TAG}")
    if len(text) > _MAX_INPUT:
        raise ImageReferenceError(
            f"that is {len(text)} characters; an image reference is much shorter, {_EG_TAG}"
        )
    text = without_look_alikes(text)
    words = [word.strip(_QUOTES) for word in _unwrap_slack_links(text).split()]
    words = [word for word in words if word]
    if not words:
        raise ImageReferenceError(f"name an image, {_EG_TAG}")
    if any("=" in word for word in words):
        return _parse_key_values(words)
    if len(words) > 3:
        raise ImageReferenceError(
            f"too many words in '{_show(' '.join(words))}'; "
            "write name:tag or name tag, e.g. alpine 3.16"
        )
    registry, repo, tag, digest = _split_reference(_strip_scheme(words[0]))
    for word in words[1:]:
        if word.startswith("@") or (":" in word and not word.startswith(":")):
            if digest is not None:
                raise ImageReferenceError(f"give one digest, not two, {_EG_DIGEST}")
            digest = word.removeprefix("@")
        else:
            if tag is not None:
                raise ImageReferenceError(
                    f"give one tag, not two ('{_show(tag)}' and '{_show(word)}'), {_EG_TAG}"
                )
            tag = word.removeprefix(":")
    return _build(registry, repo, tag, digest)


def target_from_fields(fields: Mapping[str, str]) -> ScanTarget:
    """The image named by ``repo``/``tag``/``digest``/``registry`` fields (a button's value),
    checked with the same grammar as a typed reference; :class:`ImageReferenceError` else."""
    unknown = set(fields) - {"repo", "tag", "digest", "registry"}
    if unknown or "repo" not in fields:
        raise ImageReferenceError(f"the fields are repo, tag, digest and registry, {_EG_KV}")
    return _build(fields.get("registry"), fields["repo"], fields.get("tag"), fields.get("digest"))


def without_look_alikes(text: str) -> str:
    """``text`` with the look-alike characters older messages showed (U+2024 for ``.``,
    U+02CB for a backtick, U+02CD for ``_`` …) replaced by the real ones."""
    return text.translate(_LOOK_ALIKES)


def _show(text: str) -> str:
    """At most :data:`_ECHO` printable characters of user input, for an error message."""
    return "".join(char if char.isprintable() else "?" for char in truncate(text, _ECHO))


def _strip_scheme(text: str) -> str:
    match = _SCHEME.match(text)
    return text[match.end() :] if match else text


def _unwrap_slack_links(text: str) -> str:
    """``<url|label>`` -> ``label`` and ``<url>`` -> the url without its scheme."""

    def unwrap(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        scheme = _LINK_SCHEME.match(target)
        if scheme is None:
            raise ImageReferenceError(
                f"'{_show(match.group(0))}' is a Slack mention or link, not an image, {_EG_TAG}"
            )
        return label if label is not None else target[scheme.end() :]

    return _SLACK_LINK.sub(unwrap, text)


def _split_reference(text: str) -> tuple[str | None, str, str | None, str | None]:
    """Split ``[host/]path[:tag][@digest]`` into its raw parts, without validating them."""
    if text.count("@") > 1:
        raise ImageReferenceError(f"'{_show(text)}' has more than one '@', {_EG_DIGEST}")
    name, at, digest = text.partition("@")
    tag = None
    colon = name.rfind(":")
    if colon > name.rfind("/"):
        name, tag = name[:colon], name[colon + 1 :]
    if not name:
        raise ImageReferenceError(f"'{_show(text)}' has no image name, {_EG_TAG}")
    first, slash, rest = name.partition("/")
    if slash and _looks_like_host(first):
        return first, rest, tag, digest if at else None
    return None, name, tag, digest if at else None


def _looks_like_host(component: str) -> bool:
    """Docker's rule for the first component of a name."""
    return "." in component or ":" in component or component == "localhost"


def _parse_key_values(words: list[str]) -> ScanTarget:
    fields: dict[str, str] = {}
    for word in words:
        name, equals, value = word.partition("=")
        name = name.strip(_QUOTES).lower()
        value = value.strip(_QUOTES)
        if not equals:
            raise ImageReferenceError(f"'{_show(word)}' is not key=value; write {_EG_KV}")
        if name not in ("repo", "tag", "digest", "registry"):
            raise ImageReferenceError(
                f"unknown field '{_show(name)}'; use repo=, tag=, digest= and registry=, {_EG_KV}"
            )
        if name in fields:
            raise ImageReferenceError(f"{name}= is given twice; give it once, {_EG_KV}")
        if not value:
            raise ImageReferenceError(f"{name}= needs a value, {_EG_KV}")
        fields[name] = value
    repo = fields.get("repo")
    if repo is None:
        raise ImageReferenceError(f"repo= is missing, {_EG_KV}")
    if ":" in repo or "@" in repo:
        raise ImageReferenceError(
            "repo= takes only the repository; give the tag as tag= and the digest as "
            f"digest=, {_EG_KV}"
        )
    registry = fields.get("registry")
    return _build(
        None if registry is None else _strip_scheme(registry),
        repo,
        fields.get("tag"),
        fields.get("digest"),
    )


def _build(registry: str | None, repo: str, tag: str | None, digest: str | None) -> ScanTarget:
    """Validate every part against the reference grammar and normalise for Docker Hub."""
    registry = None if registry is None else _check_registry(registry)
    repo = _check_repo(repo, registry, tag, digest)
    if tag is not None:
        _check_tag(tag)
    if digest is not None:
        _check_digest(digest)
    if registry is None:
        repo = _docker_hub_repo(repo)
    name = f"{registry}/{repo}" if registry else repo
    if len(name) > _MAX_NAME:
        raise ImageReferenceError(
            f"image name is {len(name)} characters (max {_MAX_NAME}), {_EG_PATH}"
        )
    return ScanTarget(repo=repo, tag=tag, digest=digest, registry=registry)


def _check_registry(host: str) -> str | None:
    """The registry host (``None`` for Docker Hub); raises unless it is ``host[:port]``."""
    if host.lower() in _DOCKER_HUB_HOSTS:
        return None
    bad = ImageReferenceError(f"registry '{_show(host)}' is not a host[:port], {_EG_REGISTRY}")
    if host.startswith("["):
        end = host.find("]") + 1
        name, port = host[:end], host[end:]
        if not _IPV6.fullmatch(name):
            raise bad
    else:
        name, colon, number = host.partition(":")
        port = colon + number
        if not all(_DOMAIN_LABEL.fullmatch(label) for label in name.split(".")):
            raise bad
    if port:
        number = port.removeprefix(":")
        if not port.startswith(":") or not number.isascii() or not number.isdigit():
            raise bad
        if len(number) > 5 or not 0 < int(number) <= 65535:
            raise ImageReferenceError(
                f"port '{_show(number)}' is not between 1 and 65535, {_EG_REGISTRY}"
            )
    if not _looks_like_host(host):
        raise ImageReferenceError(
            f"registry '{_show(host)}' needs a dot or a port (or is localhost), {_EG_REGISTRY}"
        )
    return host.lower()  # host names are case-insensitive: one watch key per registry


def _check_repo(repo: str, registry: str | None, tag: str | None, digest: str | None) -> str:
    """Return ``repo`` if every path component follows the grammar; raise otherwise."""
    if not repo:
        raise ImageReferenceError(f"the repository name is missing, {_EG_PATH}")
    components = repo.split("/")
    if "" in components:
        raise ImageReferenceError(
            f"repository '{_show(repo)}' has an empty part between slashes, {_EG_PATH}"
        )
    for component in components:
        if _PATH_COMPONENT.fullmatch(component):
            continue
        if component.isascii() and _PATH_COMPONENT.fullmatch(component.lower()):
            example = _example(registry, repo.lower(), tag, digest)
            raise ImageReferenceError(f"repository names must be lowercase, e.g. {example}")
        raise ImageReferenceError(
            f"repository '{_show(repo)}' may only use lowercase letters and digits, "
            f"joined by '.', '_', '__' or '-', {_EG_PATH}"
        )
    if registry is None and len(components) > 1 and _looks_like_host(components[0]):
        raise ImageReferenceError(
            f"repository starts with the registry host '{_show(components[0])}'; give that "
            "as registry=, e.g. registry=reg.example.com repo=team/app tag=1.0"
        )
    return repo


def _docker_hub_repo(repo: str) -> str:
    return repo if "/" in repo else f"library/{repo}"


def _example(registry: str | None, repo: str, tag: str | None, digest: str | None) -> str:
    text = f"{registry}/{repo}" if registry else repo
    if digest is not None and tag is None:
        return _show(f"{text}@{digest}")
    return _show(f"{text}:{tag or 'latest'}")


def _check_tag(tag: str) -> None:
    if not tag:
        raise ImageReferenceError(f"the tag after ':' is missing, {_EG_TAG}")
    if len(tag) > _MAX_TAG:
        raise ImageReferenceError(
            f"tag '{_show(tag)}' is too long (max {_MAX_TAG} characters), {_EG_TAG}"
        )
    if not _TAG.fullmatch(tag):
        raise ImageReferenceError(
            f"tag '{_show(tag)}' may only use letters, digits, '_', '.' and '-', "
            f"and not start with '.' or '-', {_EG_TAG}"
        )


def _check_digest(digest: str) -> None:
    if not digest:
        raise ImageReferenceError(f"the digest after '@' is missing, {_EG_DIGEST}")
    match = _DIGEST.fullmatch(digest)
    if match is None:
        raise ImageReferenceError(
            f"digest '{_show(digest)}' is not algorithm:hex, e.g. sha256:<64 hex digits>"
        )
    algorithm, hex_digits = match.groups()
    length = _REGISTERED_DIGESTS.get(algorithm.lower())
    if length is not None:
        example = f"e.g. {algorithm.lower()}:<{length} hex digits>"
        if len(hex_digits) != length:
            raise ImageReferenceError(
                f"a {algorithm.lower()} digest has exactly {length} hex digits, "
                f"not {len(hex_digits)}, {example}"
            )
        if algorithm != algorithm.lower() or hex_digits != hex_digits.lower():
            raise ImageReferenceError(f"write the digest in lowercase, {example}")
    elif len(hex_digits) < 32:
        raise ImageReferenceError(
            f"digest '{_show(digest)}' needs at least 32 hex digits, e.g. sha256:<64 hex digits>"
        )
