"""Image references typed by users -> ScanTarget, and ScanTarget's canonical key."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.images import (
    ImageReferenceError,
    ScanTarget,
    parse_image_reference,
    without_look_alikes,
)

HEX = "0123456789abcdef" * 4  # 64 lowercase hex digits
DIGEST = f"sha256:{HEX}"
ALPINE = ScanTarget(repo="library/alpine", tag="3.16")
TEAM_APP = ScanTarget(repo="team/app", tag="1", registry="registry.example.com")
MAX_MESSAGE = 200


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("alpine 3.16", ALPINE),
        ("alpine:3.16", ALPINE),
        ("library/alpine:3.16", ALPINE),
        ("docker.io/library/alpine:3.16", ALPINE),
        ("docker.io/alpine:3.16", ALPINE),
        ("index.docker.io/library/alpine:3.16", ALPINE),
        ("registry-1.docker.io/library/alpine:3.16", ALPINE),
        ("Docker.IO/alpine:3.16", ALPINE),
        (f"alpine@{DIGEST}", ScanTarget(repo="library/alpine", digest=DIGEST)),
        (f"alpine {DIGEST}", ScanTarget(repo="library/alpine", digest=DIGEST)),
        (f"alpine @{DIGEST}", ScanTarget(repo="library/alpine", digest=DIGEST)),
        (f"alpine:3.16@{DIGEST}", ScanTarget("library/alpine", "3.16", DIGEST)),
        (f"alpine 3.16 {DIGEST}", ScanTarget("library/alpine", "3.16", DIGEST)),
        (f"alpine:3.16 {DIGEST}", ScanTarget("library/alpine", "3.16", DIGEST)),
        ("alpine :3.16", ALPINE),
        (
            "us-west2-docker.pkg.dev/proj/repo/img:1.2",
            ScanTarget("proj/repo/img", "1.2", registry="us-west2-docker.pkg.dev"),
        ),
        (
            "registry.example.com:5000/team/app:tag",
            ScanTarget("team/app", "tag", registry="registry.example.com:5000"),
        ),
        ("localhost:5000/app:1", ScanTarget("app", "1", registry="localhost:5000")),
        ("localhost/app:1", ScanTarget("app", "1", registry="localhost")),
        ("[::1]:5000/app:1", ScanTarget("app", "1", registry="[::1]:5000")),
        ("team/app:1", ScanTarget("team/app", "1")),
        ("a__b/c--d/e.f_g:V1_x.y-z", ScanTarget("a__b/c--d/e.f_g", "V1_x.y-z")),
        ("redis:latest", ScanTarget("library/redis", "latest")),
        ("localhost:5000", ScanTarget("library/localhost", "5000")),  # Docker reads it so too
        ("repo=team/app tag=1.2", ScanTarget("team/app", "1.2")),
        ("repo=alpine tag=3.16", ALPINE),
        (
            f"registry=registry.example.com:5000 digest={DIGEST} repo=team/app",
            ScanTarget("team/app", digest=DIGEST, registry="registry.example.com:5000"),
        ),
        (
            f"tag=1 repo=team/app digest={DIGEST} registry=reg.io",
            ScanTarget("team/app", "1", DIGEST, registry="reg.io"),
        ),
        ("repo=library/alpine tag=3.16 registry=docker.io", ALPINE),
        ("REPO=alpine Tag=3.16", ALPINE),
        ('repo="team/app" tag="1"', ScanTarget("team/app", "1")),
        ("registry=https://reg.io repo=app tag=1", ScanTarget("app", "1", registry="reg.io")),
    ],
)
def test_accepted_forms_give_the_expected_target(text: str, expected: ScanTarget) -> None:
    assert parse_image_reference(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "  alpine:3.16  ",
        "\talpine   3.16\n",
        "alpine\u00a03.16",  # Slack may send a non-breaking space
        "`alpine:3.16`",
        '"alpine:3.16"',
        "\u201calpine:3.16\u201d",
        "<http://docker.io|docker.io>/library/alpine:3.16",
        "<https://docker.io>/library/alpine:3.16",
    ],
)
def test_slack_whitespace_quotes_and_links_are_tolerated(text: str) -> None:
    assert parse_image_reference(text) == ALPINE


@pytest.mark.parametrize(
    "text",
    [
        "<http://registry.example.com|registry.example.com>/team/app:1",
        "<http://registry.example.com>/team/app:1",
        "https://registry.example.com/team/app:1",
        "repo=team/app tag=1 registry=<http://registry.example.com|registry.example.com>",
    ],
)
def test_slack_auto_linked_registry_hosts_are_unwrapped(text: str) -> None:
    assert parse_image_reference(text) == TEAM_APP


@pytest.mark.parametrize(
    ("text", "expected_parts"),
    [
        ("", ["name an image", "alpine:3.16"]),
        ("   ", ["name an image"]),
        ("alpine", ["needs a tag or a digest", "alpine:latest"]),
        ("team/app", ["needs a tag or a digest", "team/app:latest"]),
        ("repo=alpine", ["needs a tag or a digest", "alpine:latest"]),
        ("Alpine:3.16", ["must be lowercase", "e.g. alpine:3.16"]),
        ("MyOrg/App:1.0", ["must be lowercase", "e.g. myorg/app:1.0"]),
        ("reg.io/Team/app:1", ["must be lowercase", "e.g. reg.io/team/app:1"]),
        ("repo=Team/App tag=2", ["must be lowercase", "e.g. team/app:2"]),
        ("alpine:", ["tag after ':' is missing", "alpine:3.16"]),
        ("alpine@", ["digest after '@' is missing"]),
        ("alpine:" + "x" * 129, ["too long (max 128 characters)", "e.g. alpine:3.16"]),
        ("alpine:.hidden", ["tag '.hidden'", "not start with '.'"]),
        ("alpine:-x", ["tag '-x'"]),
        ("alpine 3.16!", ["tag '3.16!'"]),
        ("alpine@sha256:abc", ["exactly 64 hex digits, not 3"]),
        ("alpine@sha256:" + "a" * 65, ["exactly 64 hex digits, not 65"]),
        ("alpine@sha256:" + "A" * 64, ["lowercase"]),
        ("alpine@SHA256:" + "a" * 64, ["lowercase"]),
        ("alpine@sha512:" + "a" * 64, ["exactly 128 hex digits"]),
        ("alpine@md5:" + "a" * 31, ["at least 32 hex digits"]),
        ("alpine@nonsense", ["not algorithm:hex", "sha256:<64 hex digits>"]),
        ("alpine@sha256:" + "g" * 64, ["not algorithm:hex"]),
        ("alpine@a@b", ["more than one '@'"]),
        (":3.16", ["no image name"]),
        (f"@{DIGEST}", ["no image name"]),
        ("team//app:1", ["empty part between slashes"]),
        ("team/app/:1", ["empty part between slashes"]),
        ("reg.io/:1", ["repository name is missing"]),
        ("te am:1 x y", ["too many words"]),
        ("a_-b:1", ["may only use lowercase letters and digits"]),
        ("a___b:1", ["may only use lowercase letters and digits"]),
        ("-app:1", ["may only use lowercase letters and digits"]),
        ("caf\u00e9:1", ["may only use lowercase letters and digits"]),
        ("a/" + "b" * 260 + ":1", ["(max 255)"]),
        ("alpine 3.16 3.17", ["one tag, not two", "'3.16' and '3.17'"]),
        ("alpine:3.16 3.17", ["one tag, not two"]),
        (f"alpine@{DIGEST} {DIGEST}", ["one digest, not two"]),
        ("reg_io:5000/app:1", ["registry 'reg_io:5000' is not a host[:port]"]),
        ("reg.io:http/app:1", ["is not a host[:port]"]),
        ("reg.io:/app:1", ["is not a host[:port]"]),
        ("reg.io:70000/app:1", ["port '70000' is not between 1 and 65535"]),
        ("reg.io:0/app:1", ["not between 1 and 65535"]),
        ("-reg.io/app:1", ["is not a host[:port]"]),
        ("[zz]:5000/app:1", ["is not a host[:port]"]),
        ("<@U123ABC>", ["Slack mention or link"]),
        ("<#C123|general>", ["Slack mention or link"]),
        ("<!channel>", ["Slack mention or link"]),
        ("repo=team/app", ["needs a tag or a digest"]),
        ("tag=1", ["repo= is missing"]),
        ("repo=team/app tag=1 tag=2", ["tag= is given twice"]),
        ("repo=team/app tag=", ["tag= needs a value"]),
        ("repo=team/app image=x", ["unknown field 'image'"]),
        ("repo=team/app 1.2", ["'1.2' is not key=value"]),
        ("repo=alpine:3.16", ["repo= takes only the repository", "tag="]),
        ("repo=reg.io/team/app tag=1", ["registry host 'reg.io'", "registry="]),
        ("registry=myreg repo=app tag=1", ["registry 'myreg' needs a dot or a port"]),
        ("registry=reg.io/x repo=app tag=1", ["is not a host[:port]"]),
        ("repo=team/app tag=.x", ["tag '.x'"]),
        ("repo=team/app digest=sha256:12", ["exactly 64 hex digits"]),
        ("repo=Team tag=1", ["must be lowercase"]),
        ("repo=a//b tag=1", ["empty part between slashes"]),
        ("x" * 1001, ["1001 characters"]),
    ],
)
def test_each_error_says_what_is_wrong(text: str, expected_parts: list[str]) -> None:
    with pytest.raises(ImageReferenceError) as caught:
        parse_image_reference(text)
    message = str(caught.value)
    for part in expected_parts:
        assert part in message
    assert "\n" not in message
    assert len(message) <= MAX_MESSAGE


@pytest.mark.parametrize(
    "text",
    [
        "alpine:" + "t" * 900,
        "alpine@sha256:" + "f" * 900,
        "a" * 900 + ":1",
        "repo=" + "Q" * 900 + " tag=1",
        "registry=" + "r" * 900 + " repo=a tag=1",
        "<@" + "U" * 900 + ">",
        " ".join(["word"] * 150),
    ],
)
def test_messages_never_echo_more_than_about_a_hundred_characters(text: str) -> None:
    with pytest.raises(ImageReferenceError) as caught:
        parse_image_reference(text)
    message = str(caught.value)
    longest_echo = max(len(run) for run in re.findall(r"[tfaQrUword ]+", message))
    assert longest_echo < 100
    assert len(message) <= MAX_MESSAGE


def test_control_characters_are_not_echoed() -> None:
    with pytest.raises(ImageReferenceError) as caught:
        parse_image_reference("team/ap\x1bp:1")
    assert "\x1b" not in str(caught.value)


def test_non_text_is_an_image_reference_error() -> None:
    with pytest.raises(ImageReferenceError):
        parse_image_reference(None)  # type: ignore[arg-type]


def test_the_longest_name_is_accepted_and_one_more_character_is_not() -> None:
    repo = "team/" + "a" * 250  # 255 characters
    assert parse_image_reference(f"{repo}:1").repo == repo
    with pytest.raises(ImageReferenceError, match="256 characters"):
        parse_image_reference(f"{repo}a:1")
    # Docker Hub's "library/" prefix counts too.
    with pytest.raises(ImageReferenceError, match="max 255"):
        parse_image_reference("a" * 250 + ":1")


def test_the_longest_tag_is_accepted() -> None:
    tag = "v" + "1" * 127
    assert parse_image_reference(f"alpine:{tag}").tag == tag


def test_other_digest_algorithms_follow_the_generic_grammar() -> None:
    digest = "multihash+base58:" + "ABCDEF0123" * 4
    assert parse_image_reference(f"team/app@{digest}").digest == digest
    sha512 = "sha512:" + "e" * 128
    assert parse_image_reference(f"team/app@{sha512}").digest == sha512


def test_registry_host_case_is_folded_to_lower_case() -> None:
    assert parse_image_reference("Reg.Example.com/app:1").registry == "reg.example.com"


def test_the_constructor_still_requires_a_repository_and_a_tag_or_digest() -> None:
    with pytest.raises(ImageReferenceError, match="repository"):
        ScanTarget(repo="", tag="1")
    with pytest.raises(ImageReferenceError, match="alpine:latest"):
        ScanTarget(repo="library/alpine")


def test_display_drops_library_only_for_official_images() -> None:
    assert ALPINE.display() == "alpine:3.16"
    assert ScanTarget("library/team/app", "1").display() == "library/team/app:1"
    assert ScanTarget("library/app", "1", registry="reg.io").display() == "reg.io/library/app:1"
    assert TEAM_APP.display() == "registry.example.com/team/app:1"


def test_registry_host_names_are_case_insensitive() -> None:
    upper = parse_image_reference("Registry.Example.COM/team/app:1")
    assert upper == parse_image_reference("registry.example.com/team/app:1")
    assert upper.key == "registry.example.com/team/app:1"


def test_parsing_a_key_gives_back_the_target() -> None:
    target = ScanTarget("team/app", "1", DIGEST, "localhost:5000")
    assert target.key == f"localhost:5000/team/app:1@{DIGEST}"
    assert parse_image_reference(target.key) == target
    assert parse_image_reference("library/alpine:3.16") == ALPINE


# --- properties ----------------------------------------------------------------------------

_ALNUM = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8)
_SEPARATOR = st.sampled_from([".", "_", "__", "-", "--"])


@st.composite
def _path_component(draw: st.DrawFn, *, dots: bool = True) -> str:
    text = draw(_ALNUM)
    for _ in range(draw(st.integers(0, 3))):
        separator = draw(_SEPARATOR.filter(lambda s: dots or s != "."))
        text += separator + draw(_ALNUM)
    return text


_LABEL = st.from_regex(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,8}[A-Za-z0-9])?", fullmatch=True)
_PORT = st.integers(1, 65535).map(lambda port: f":{port}")
_HOST = st.one_of(
    st.tuples(st.lists(_LABEL, min_size=2, max_size=3).map(".".join), st.just("")),
    st.tuples(_LABEL, _PORT),
    st.tuples(st.just("localhost"), st.one_of(st.just(""), _PORT)),
    st.tuples(st.just("[::1]"), _PORT),
).map("".join)
_REGISTRY = _HOST.map(str.lower).filter(lambda host: host not in {"docker.io", "index.docker.io"})
_TAG = st.from_regex(re.compile(r"\w[\w.-]{0,127}", re.ASCII), fullmatch=True)
_DIGEST = st.one_of(
    st.text(alphabet="0123456789abcdef", min_size=64, max_size=64).map("sha256:".__add__),
    st.text(alphabet="0123456789abcdef", min_size=128, max_size=128).map("sha512:".__add__),
    st.text(alphabet="0123456789abcdefABCDEF", min_size=32, max_size=40).map("x-algo+b:".__add__),
)


@st.composite
def valid_targets(draw: st.DrawFn) -> ScanTarget:
    """Canonical targets: the form the parser produces."""
    registry = draw(st.one_of(st.none(), _REGISTRY))
    if registry is None:  # Docker Hub: library/<name> or a first part that is not a host
        first = draw(st.one_of(st.just("library"), _path_component(dots=False)))
        first = "library" if first == "localhost" else first
        rest = draw(st.lists(_path_component(), min_size=1, max_size=3))
    else:
        first = draw(_path_component())
        rest = draw(st.lists(_path_component(), max_size=3))
    tag, digest = draw(
        st.one_of(
            st.tuples(_TAG, st.none()),
            st.tuples(st.none(), _DIGEST),
            st.tuples(_TAG, _DIGEST),
        )
    )
    return ScanTarget("/".join([first, *rest]), tag, digest, registry)


@settings(max_examples=150, deadline=None)
@given(target=valid_targets())
def test_valid_targets_round_trip_through_key_and_display(target: ScanTarget) -> None:
    assert parse_image_reference(target.key) == target
    assert parse_image_reference(target.key) == target
    assert parse_image_reference(target.display()) == target
    assert parse_image_reference(f"  {target.key}  ") == target


@settings(max_examples=100, deadline=None)
@given(target=valid_targets())
def test_key_value_form_gives_the_same_target(target: ScanTarget) -> None:
    fields = {"repo": target.repo, "tag": target.tag, "digest": target.digest}
    fields["registry"] = target.registry
    text = " ".join(f"{name}={value}" for name, value in fields.items() if value is not None)
    assert parse_image_reference(text) == target


def _check_outcome(text: str) -> None:
    """Either a canonical, round-tripping target or one short ImageReferenceError."""
    try:
        target = parse_image_reference(text)
    except ImageReferenceError as error:
        message = str(error)
        assert message
        assert len(message) <= MAX_MESSAGE
        assert message.isprintable()
        return
    assert parse_image_reference(target.key) == target
    assert parse_image_reference(target.key) == target


_FRAGMENTS = st.sampled_from(
    [
        "alpine", "Alpine", "library/", "docker.io/", "reg.io", ":5000", "localhost", "/", ":",
        "@", "sha256:", HEX, HEX.upper(), "3.16", ".", "_", "__", "-", " ", "  ", "\t", "=",
        "repo=", "tag=", "digest=", "registry=", "<http://", "|", ">", "<@U1>", "`", '"',
        "[::1]", "x" * 130, "\u00e9", "\x00", "\u00a0", "https://",
    ]
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(text=st.text())
def test_arbitrary_text_raises_only_image_reference_errors(text: str) -> None:
    _check_outcome(text)


@settings(max_examples=300, deadline=None)
@given(
    text=st.one_of(
        st.lists(_FRAGMENTS, max_size=12).map("".join),
        st.text(alphabet="abcAZ019:/@.-_= <>|\u00a0", max_size=60),
    )
)
def test_reference_like_text_raises_only_image_reference_errors(text: str) -> None:
    _check_outcome(text)


@settings(max_examples=150, deadline=None)
@given(
    repo=st.text(max_size=20),
    tag=st.one_of(st.none(), st.text(max_size=10)),
    digest=st.one_of(st.none(), st.text(max_size=10), _DIGEST),
    registry=st.one_of(st.none(), st.text(max_size=10), _REGISTRY),
)
def test_parsing_the_key_of_any_constructed_target_inverts_or_refuses(
    repo: str, tag: str | None, digest: str | None, registry: str | None
) -> None:
    try:
        target = ScanTarget(repo, tag, digest, registry)
    except ImageReferenceError:
        return
    try:
        restored = parse_image_reference(target.key)
    except ImageReferenceError:
        return
    assert parse_image_reference(restored.key) == restored  # canonical form is a fixed point


def test_look_alike_characters_from_older_messages_parse_as_the_real_ones() -> None:
    """Fails before: U+2024 (one dot leader), U+02CB (grave accent) and U+02CD (low macron)
    that older Slack messages showed were refused by the parser."""
    target = parse_image_reference(
        "\u02cbregistry\u2024example\u2024com:5000/my\u02cdteam/app:1\u20240\u02cb"
    )
    assert target == ScanTarget(repo="my_team/app", tag="1.0", registry="registry.example.com:5000")
    assert (
        without_look_alikes("a\u2217b\u223cc\u203ad\ua789e\u2236f\uff20g\uff03h")
        == "a*b~c>d:e:f@g#h"
    )
