"""The service's security rules, one by one, without the web layer."""

from __future__ import annotations

import pytest

from cccd_reader.errors import InputError
from cccd_reader.serve.security import (
    OriginPolicy,
    RefusalLimiter,
    is_loopback_bind,
    is_loopback_host,
    normalise_origin,
    split_host,
    token_matches,
)


@pytest.mark.parametrize("header, expected", [
    ("127.0.0.1:8731", ("127.0.0.1", 8731)),
    ("LOCALHOST", ("localhost", None)),
    ("[::1]:8731", ("::1", 8731)),
    ("[::1]", ("::1", None)),
    ("localhost.:80", ("localhost", 80)),
])
def test_split_host(header: str, expected: tuple[str, int | None]) -> None:
    assert split_host(header) == expected


@pytest.mark.parametrize("header", ["", "[::1", "[::1]x", "::1", "host:port", "host:0", "host:70000"])
def test_split_host_refuses_malformed(header: str) -> None:
    with pytest.raises(InputError):
        split_host(header)


@pytest.mark.parametrize("header", ["127.0.0.1:8731", "localhost:8731", "localhost", "[::1]:8731",
                                    "127.0.0.2:1", "LocalHost:8731"])
def test_loopback_hosts_accepted(header: str) -> None:
    assert is_loopback_host(header)


@pytest.mark.parametrize("header", [None, "", "evil.example", "evil.example:8731", "127.0.0.1.nip.io:8731",
                                    "localhost.evil.example", "192.168.1.10:8731", "[fe80::1]:8731",
                                    "0.0.0.0:8731", "[::1"])
def test_other_hosts_refused(header: str | None) -> None:
    """DNS rebinding: a hostile name re-pointed at 127.0.0.1 arrives with that name in Host."""
    assert not is_loopback_host(header)


def test_extra_host_names() -> None:
    assert not is_loopback_host("192.168.1.10:8731")
    assert is_loopback_host("192.168.1.10:8731", extra=["192.168.1.10"])


def test_loopback_bind() -> None:
    assert is_loopback_bind("127.0.0.1")
    assert is_loopback_bind("::1")
    assert is_loopback_bind("localhost")
    assert not is_loopback_bind("0.0.0.0")
    assert not is_loopback_bind("::")
    assert not is_loopback_bind("192.168.1.10")


def test_normalise_origin() -> None:
    assert normalise_origin("HTTPS://Desk.Example.VN:443") == "https://desk.example.vn"
    assert normalise_origin("http://127.0.0.1:8080/") == "http://127.0.0.1:8080"
    assert normalise_origin("http://[::1]:80") == "http://[::1]"
    for bad in ("null", "file:///x", "https://a.example/path", "https://u:p@a.example", "ftp://a.example",
                "https://a.example:port"):
        with pytest.raises(InputError):
            normalise_origin(bad)


def test_origin_policy() -> None:
    policy = OriginPolicy.from_list(["https://desk.example.vn", "http://localhost:3000"])
    assert policy.allows("https://desk.example.vn")
    assert policy.allows("https://DESK.example.vn:443")
    assert policy.allows("http://localhost:3000")
    assert not policy.allows("http://localhost:3001")
    assert not policy.allows("http://desk.example.vn")  # another scheme is another origin
    assert not policy.allows("https://desk.example.vn.evil.example")
    assert not policy.allows("null")
    assert not policy.allows(None)
    assert policy.allows("http://127.0.0.1:8731", own=["http://127.0.0.1:8731"])
    assert not policy.allows("http://127.0.0.1:9999", own=["http://127.0.0.1:8731"])


@pytest.mark.parametrize("bad", ["*", "null", "https://a.example/path"])
def test_origin_policy_has_no_wildcard(bad: str) -> None:
    with pytest.raises(InputError):
        OriginPolicy.from_list([bad])


def test_token_matches() -> None:
    assert token_matches(None, None)
    assert token_matches("s3cret", "s3cret")
    assert not token_matches("s3cret", "s3cre")
    assert not token_matches("s3cret", None)
    assert not token_matches("s3cret", "")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_refusal_limiter_locks_and_doubles() -> None:
    clock = FakeClock()
    limiter = RefusalLimiter(allowed=3, base_lock=30, max_lock=100, clock=clock)
    assert limiter.refused("r#1") == 0
    assert limiter.refused("r#1") == 0
    assert limiter.retry_after("r#1") == 0
    assert limiter.refused("r#1") == 30
    assert limiter.retry_after("r#1") == 30
    assert limiter.retry_after("r#2") == 0  # another card (or another placement) is not affected
    clock.now += 29
    assert limiter.retry_after("r#1") == pytest.approx(1)
    clock.now += 1
    assert limiter.retry_after("r#1") == 0
    assert limiter.refused("r#1") == 60  # each further refusal doubles the lock
    clock.now += 60
    assert limiter.refused("r#1") == 100  # up to the maximum
    limiter.accepted("r#1")
    assert limiter.retry_after("r#1") == 0
    assert limiter.refused("r#1") == 0


def test_refusal_limiter_counts_every_key_of_a_request() -> None:
    limiter = RefusalLimiter(allowed=3, base_lock=30, clock=FakeClock())
    assert limiter.refused("r#1", keys=4) == 30  # a QR payload tried the CAN and three MRZ keys
