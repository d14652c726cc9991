"""Webhook signatures: HMAC-SHA256 of the raw body, Base64 or hex, nothing else."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from syncengine.web.signatures import sign_base64, sign_hex, signature_matches

SECRET = "whsec-unit-test"
BODY = b'{"event":"ContactUpdate","contact":{"id":4821}}'
# Computed independently of the module under test.
EXPECTED = hmac.new(SECRET.encode(), BODY, hashlib.sha256).digest()
B64 = base64.b64encode(EXPECTED).decode()
HEX = EXPECTED.hex()


def test_signing_gives_the_hmac_sha256_of_the_body_in_base64_and_hex() -> None:
    assert sign_base64(SECRET, BODY) == B64
    assert sign_hex(SECRET, BODY) == HEX


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(B64, id="base64"),
        pytest.param(B64.rstrip("="), id="base64-without-padding"),
        pytest.param(HEX, id="hex-lower"),
        pytest.param(HEX.upper(), id="hex-upper"),
        pytest.param(f"sha256={B64}", id="prefixed-base64"),
        pytest.param(f"SHA256={HEX}", id="prefixed-hex-any-case"),
        pytest.param(f"  {B64}\t", id="surrounding-whitespace"),
        pytest.param(f" sha256= {HEX} ", id="prefix-and-whitespace"),
    ],
)
def test_every_published_encoding_of_the_right_signature_matches(header: str) -> None:
    assert signature_matches(SECRET, BODY, header)


def test_a_signature_made_with_another_secret_does_not_match() -> None:
    assert not signature_matches(SECRET, BODY, sign_base64("whsec-other", BODY))
    assert not signature_matches(SECRET, BODY, sign_hex("whsec-other", BODY))


def test_a_body_altered_by_one_byte_does_not_match() -> None:
    altered = BODY.replace(b"4821", b"4822")
    assert len(altered) == len(BODY)
    assert not signature_matches(SECRET, altered, B64)
    assert not signature_matches(SECRET, altered, HEX)


def test_the_raw_bytes_are_signed_not_their_json_meaning() -> None:
    # Same JSON, other bytes: a re-serialised body must not be what was checked.
    assert not signature_matches(SECRET, BODY.replace(b",", b", "), B64)


@pytest.mark.parametrize("header", [None, "", "   ", "sha256=", "sha256=   "])
def test_a_missing_or_empty_signature_does_not_match(header: str | None) -> None:
    assert not signature_matches(SECRET, BODY, header)


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("not a signature", id="words"),
        pytest.param("é€漢字" * 10, id="non-ascii"),
        pytest.param("\x00\x1b[31m", id="control-characters"),
        pytest.param(B64[:-4], id="truncated-base64"),
        pytest.param(HEX + "00", id="hex-too-long"),
        pytest.param(B64.lower(), id="base64-with-case-changed"),
        pytest.param("sha1=" + HEX, id="other-algorithm-prefix"),
        pytest.param(f"{B64},{HEX}", id="two-signatures-in-one"),
    ],
)
def test_a_garbage_signature_does_not_match_and_raises_nothing(header: str) -> None:
    assert not signature_matches(SECRET, BODY, header)


def test_secret_may_be_given_as_bytes() -> None:
    assert signature_matches(SECRET.encode(), BODY, B64)
