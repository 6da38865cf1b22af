"""EdDSA access tokens: an issuer with the private key, verifiers with public keys chosen by
`kid`, rotation, and every token a verifier must refuse (pure computation, no I/O)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key

from cloudmall.adapters.security.signing_keys import (
    PublicKey,
    generate_private_pem,
    load_private_key,
    load_public_keys,
    thumbprint,
)
from cloudmall.adapters.security.tokens import JwtTokenIssuer, JwtTokenVerifier
from cloudmall.domain.errors import AuthenticationFailed
from cloudmall.domain.users import Role, User

AUD = {"issuer": "cloudmall", "audience": "cloudmall-api"}
USER = User(7, "a@b.co", "A", Role.CUSTOMER, "x", datetime.now(UTC))
OLD = Ed25519PrivateKey.generate()
NEW = Ed25519PrivateKey.generate()


def issuer(key: Ed25519PrivateKey, ttl: int = 60) -> JwtTokenIssuer:
    return JwtTokenIssuer.ed25519(key, **AUD, ttl_seconds=ttl)


def verifier(*keys: Ed25519PrivateKey) -> JwtTokenVerifier:
    return JwtTokenVerifier.ed25519([PublicKey.of(k.public_key()) for k in keys], **AUD)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    return {
        "sub": "7",
        "role": "customer",
        "iss": "cloudmall",
        "aud": "cloudmall-api",
        "iat": now,
        "exp": now + 60,
        **overrides,
    }


def kid(key: Ed25519PrivateKey) -> str:
    return thumbprint(key.public_key())


def test_a_token_names_its_key_and_verifies_with_the_public_key_alone() -> None:
    token, ttl = issuer(NEW).issue(USER)
    assert jwt.get_unverified_header(token) == {"alg": "EdDSA", "kid": kid(NEW), "typ": "JWT"}
    principal = verifier(NEW).decode(token)
    assert (principal.user_id, principal.role, ttl) == (7, Role.CUSTOMER, 60)


def test_a_token_says_whether_the_account_must_change_its_initial_password() -> None:
    """The services without the accounts refuse such a caller from this claim alone."""
    initial = replace(USER, must_change_password=True)
    assert verifier(NEW).decode(issuer(NEW).issue(initial)[0]).must_change_password is True
    assert verifier(NEW).decode(issuer(NEW).issue(USER)[0]).must_change_password is False
    older = jwt.encode(claims(), NEW, algorithm="EdDSA", headers={"kid": kid(NEW)})
    assert verifier(NEW).decode(older).must_change_password is False  # issued before the claim


def test_a_verifier_holds_no_way_to_mint() -> None:
    assert not hasattr(verifier(NEW), "issue")


def test_the_key_id_is_the_rfc_7638_thumbprint() -> None:
    # RFC 8037, appendix A.2 and A.3: this public key's thumbprint.
    x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
    key = Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(x + "="))
    assert thumbprint(key) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_during_a_rotation_both_keys_verify_and_afterwards_only_the_new() -> None:
    before, _ = issuer(OLD).issue(USER)
    after, _ = issuer(NEW).issue(USER)
    rotating = verifier(NEW, OLD)
    assert rotating.decode(before).user_id == rotating.decode(after).user_id == 7
    rotated = verifier(NEW)
    assert rotated.decode(after).user_id == 7
    with pytest.raises(AuthenticationFailed, match="not valid"):
        rotated.decode(before)


def test_a_kid_that_names_another_key_is_refused() -> None:
    """The header's kid only chooses among the verifier's keys; it never brings its own."""
    token = jwt.encode(claims(), OLD, algorithm="EdDSA", headers={"kid": kid(NEW)})
    with pytest.raises(AuthenticationFailed):
        verifier(NEW, OLD).decode(token)


def handmade(secret: bytes, header: dict[str, object]) -> str:
    """A token made by hand, HMAC-SHA256 signed (PyJWT refuses to HMAC with a PEM key)."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims()).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


@pytest.mark.parametrize(
    "secret",
    [
        NEW.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        NEW.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw),
    ],
    ids=["pem", "raw"],
)
def test_an_hs256_token_keyed_with_the_public_key_is_refused(secret: bytes) -> None:
    token = handmade(secret, {"alg": "HS256", "typ": "JWT", "kid": kid(NEW)})
    with pytest.raises(AuthenticationFailed):
        verifier(NEW).decode(token)


def test_an_unsigned_token_is_refused() -> None:
    header = b64(json.dumps({"alg": "none", "typ": "JWT", "kid": kid(NEW)}).encode())
    body = b64(json.dumps(claims(role="admin")).encode())
    with pytest.raises(AuthenticationFailed):
        verifier(NEW).decode(f"{header}.{body}.")


def signed(headers: dict[str, object] | None = None, **overrides: object) -> str:
    return jwt.encode(claims(**overrides), NEW, algorithm="EdDSA", headers=headers)


@pytest.mark.parametrize(
    "make",
    [
        lambda: signed({"kid": kid(NEW)}, aud="someone-else"),
        lambda: signed({"kid": kid(NEW)}, iss="evil"),
        lambda: signed(),  # no kid
        lambda: handmade(b"x", {"alg": "EdDSA", "kid": ["a", "list"]}),
        lambda: signed({"kid": kid(NEW)}, role="owner"),
        lambda: signed({"kid": kid(NEW)}, sub=None),
        lambda: "not.a.token",
        lambda: "",
    ],
    ids=["audience", "issuer", "no-kid", "odd-kid", "bad-role", "no-subject", "garbage", "empty"],
)
def test_bad_tokens_are_refused(make: Callable[[], str]) -> None:
    """Made when the test runs: one made at collection may have expired by then."""
    with pytest.raises(AuthenticationFailed, match="not valid"):
        verifier(NEW).decode(make())


def test_an_expired_token_says_the_session_expired() -> None:
    token = signed({"kid": kid(NEW)}, exp=int(time.time()) - 10)
    with pytest.raises(AuthenticationFailed, match="expired"):
        verifier(NEW).decode(token)


def test_hs256_and_eddsa_verifiers_refuse_each_others_tokens() -> None:
    secret = "k" * 64
    hs256 = JwtTokenVerifier.hs256(secret, **AUD)
    with pytest.raises(AuthenticationFailed):
        hs256.decode(issuer(NEW).issue(USER)[0])
    with pytest.raises(AuthenticationFailed):
        verifier(NEW).decode(JwtTokenIssuer.hs256(secret, **AUD, ttl_seconds=60).issue(USER)[0])


def test_the_key_set_lets_another_party_verify_with_pyjwt_alone() -> None:
    key_set = verifier(NEW, OLD).key_set()
    assert [key["kid"] for key in key_set["keys"]] == [kid(NEW), kid(OLD)]  # type: ignore[index]
    assert all(k["kty"] == "OKP" and k["alg"] == "EdDSA" for k in key_set["keys"])  # type: ignore[index,union-attr]
    token, _ = issuer(OLD).issue(USER)
    jwk = jwt.PyJWKSet.from_dict(dict(key_set))[jwt.get_unverified_header(token)["kid"]]
    assert jwt.decode(token, jwk.key, algorithms=["EdDSA"], audience="cloudmall-api")["sub"] == "7"
    assert JwtTokenVerifier.hs256("k" * 64, **AUD).key_set() == {"keys": []}


def test_pem_keys_load_one_or_several_and_refuse_anything_else() -> None:
    private_pem = generate_private_pem()
    private = load_private_key(private_pem)
    pems = "\n".join(PublicKey.of(k).pem() for k in (private.public_key(), OLD.public_key()))
    assert [k.kid for k in load_public_keys(pems)] == [kid(private), kid(OLD)]
    assert load_public_keys("") == []
    rsa = generate_private_key(public_exponent=65537, key_size=2048)
    rsa_public = rsa.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for text in ("not a key", rsa_public.decode()):
        with pytest.raises(ValueError, match="CLOUDMALL_TOKEN_VERIFY_KEYS"):
            load_public_keys(text)
    rsa_private = rsa.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    for text in ("garbage", rsa_private, private_pem[:-40]):
        with pytest.raises(ValueError, match="CLOUDMALL_TOKEN_SIGNING_KEY") as refused:
            load_private_key(text)
        assert text not in str(refused.value)


def test_a_pem_that_lost_its_line_breaks_still_loads() -> None:
    """An env file holds one line: the breaks become spaces, or `\\n` written out."""
    private_pem = generate_private_pem()
    public_pem = PublicKey.of(load_private_key(private_pem).public_key()).pem()
    expected = thumbprint(load_private_key(private_pem).public_key())
    for flatten in (lambda pem: pem.replace("\n", " "), lambda pem: pem.replace("\n", "\\n")):
        assert thumbprint(load_private_key(flatten(private_pem)).public_key()) == expected
        assert [k.kid for k in load_public_keys(flatten(public_pem) * 2)] == [expected] * 2
    with pytest.raises(ValueError, match="holds no PEM public key"):
        load_public_keys(private_pem)  # a private key where public ones belong: named, not shown
