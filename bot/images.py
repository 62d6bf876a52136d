"""Image references typed by users -> :class:`ScanTarget`.

Accepted forms (see :func:`parse_image_reference`)::

    alpine 3.16                       alpine:3.16          library/alpine:3.16
    docker.io/library/alpine:3.16     alpine@sha256:<64 hex>   alpine sha256:<64 hex>
    us-west2-docker.pkg.dev/proj/repo/img:1.2
    registry.example.com:5000/team/app:tag
    repo=team/app tag=1.2 digest=sha256:<hex> registry=registry.example.com:5000

Docker Hub official images become ``library/<name>``; Docker Hub's own host names
(``docker.io``, ``index.docker.io``, ``registry-1.docker.io``) are dropped, because the
console's Docker Hub registry is the default one and the API page queries
``repo=library/alpine`` without a registry.
"""

from __future__ import annotations

from dataclasses import dataclass


class ImageReferenceError(ValueError):
    """The text is not an image reference; the message says what is wrong and shows an example."""


@dataclass(frozen=True, slots=True)
class ScanTarget:
    """One image as the console's on-demand scan API names it.

    ``repo`` is required, and at least one of ``tag`` / ``digest``.  ``registry`` is
    ``None`` unless the user named a registry other than Docker Hub.
    """

    repo: str
    tag: str | None = None
    digest: str | None = None
    registry: str | None = None

    def __post_init__(self) -> None:
        if not self.repo:
            raise ImageReferenceError("an image needs a repository, e.g. alpine:3.16")
        if self.tag is None and self.digest is None:
            raise ImageReferenceError(
                f"{self.repo} needs a tag or a digest, e.g. {self.repo}:latest"
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
        """Short human form: ``alpine:3.16`` for Docker Hub official images, else :attr:`key`."""
        key = self.key
        if self.registry is None and key.startswith("library/"):
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

    Raises :class:`ImageReferenceError` (and nothing else) for any other text.
    """
    raise NotImplementedError  # filled in by the images work package
