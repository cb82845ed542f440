"""Table and property tests for ACM's certificate name rules: validation, one-label wildcard matching."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from latticework.pki.names import covers, name_matches, normalize, validate_domain, validate_domains, wildcard_for


@pytest.mark.parametrize(
    ("pattern", "host", "expected"),
    [
        # ACM "Wildcard names": *.example.com protects login.example.com and test.example.com ...
        ("*.example.com", "a.example.com", True),
        ("*.example.com", "login.example.com", True),
        # ... but not test.login.example.com, and not the bare example.com.
        ("*.example.com", "a.b.example.com", False),
        ("*.example.com", "example.com", False),
        ("*.example.com", ".example.com", False),
        ("*.example.com", "a.example.org", False),
        ("*.example.com", "aexample.com", False),
        # Case-insensitive, a trailing root dot ignored.
        ("*.Example.COM", "A.example.com", True),
        ("Example.com", "EXAMPLE.COM.", True),
        ("example.com.", "example.com", True),
        # Exact names match only themselves.
        ("example.com", "example.com", True),
        ("example.com", "www.example.com", False),
        ("www.example.com", "example.com", False),
        # A '*' that is not the whole left-most label is no wildcard.
        ("f*.example.com", "foo.example.com", False),
        ("a.*.example.com", "a.b.example.com", False),
        ("*example.com", "www.example.com", False),
        # A host is never a pattern, and empty names match nothing.
        ("*.example.com", "*.example.com", False),
        ("", "example.com", False),
        ("example.com", "", False),
        ("*.", "a.", False),
        # Generated service names under the per-partition wildcard.
        (
            "*.7d67968.vpc-lattice-svcs.us-west-2.on.aws",
            "orders-0285b53b2e.7d67968.vpc-lattice-svcs.us-west-2.on.aws",
            True,
        ),
        (
            "*.7d67968.vpc-lattice-svcs.us-west-2.on.aws",
            "orders-0285b53b2e.7d67968.vpc-lattice-svcs.us-east-2.on.aws",
            False,
        ),
    ],
)
def test_name_matches(pattern: str, host: str, expected: bool) -> None:
    assert name_matches(pattern, host) is expected


@pytest.mark.parametrize(
    ("domains", "host", "expected"),
    [
        (["example.com", "*.example.com"], "example.com", True),
        (["example.com", "*.example.com"], "www.example.com", True),
        (["example.com", "*.example.com"], "a.www.example.com", False),
        (["api.example.com", "api.example.net"], "API.example.net", True),
        ([], "example.com", False),
    ],
)
def test_covers_is_any_domain_matching(domains: list[str], host: str, expected: bool) -> None:
    assert covers(domains, host) is expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Example.COM", "example.com"),
        ("example.com.", "example.com"),
        ("*.example.com", "*.example.com"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("a-b.c0.example.com", "a-b.c0.example.com"),
        ("a" * 63 + ".com", "a" * 63 + ".com"),
        (".".join(["a" * 63] * 3 + ["a" * 61]), ".".join(["a" * 63] * 3 + ["a" * 61])),  # ACM: 253 is legal
    ],
)
def test_validate_domain_accepts_and_normalises(name: str, expected: str) -> None:
    assert validate_domain(name) == expected


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "1 to 253"),
        (".".join(["a" * 63] * 3 + ["a" * 62]), "1 to 253"),  # ACM: 254 is not
        ("a" * 64 + ".com", "not a fully qualified"),  # label longer than 63
        ("localhost", "not a fully qualified"),  # one label
        ("*.com", "not a fully qualified"),  # a wildcard needs two labels after it
        ("example.c", "not a fully qualified"),  # ACM's pattern: a top-level label of two or more
        ("a.*.example.com", "left-most label"),
        ("f*.example.com", "left-most label"),
        ("*.*.example.com", "left-most label"),
        ("-a.example.com", "not a fully qualified"),
        ("a-.example.com", "not a fully qualified"),
        ("a_b.example.com", "not a fully qualified"),
        ("a..example.com", "not a fully qualified"),
    ],
)
def test_validate_domain_refuses_what_acm_refuses(name: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_domain(name)


def test_validate_domains_dedupes_in_order_first_is_cn() -> None:
    assert validate_domains(["B.example.com", "a.example.com", "b.example.com."]) == (
        "b.example.com",
        "a.example.com",
    )


@pytest.mark.parametrize(
    ("names", "message"),
    [
        ([], "at least one"),
        ([f"h{i}.example.com" for i in range(101)], "at most 100"),
        (["a" * 60 + ".example.com"], "at most 64"),  # the CN limit applies to the first name only
    ],
)
def test_validate_domains_limits(names: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_domains(names)


def test_a_long_name_is_fine_after_a_short_first_name() -> None:
    long_name = "a" * 60 + ".example.com"
    assert validate_domains(["example.com", long_name]) == ("example.com", long_name)


@pytest.mark.parametrize(
    ("host", "expected"),
    [("a.example.com", "*.example.com"), ("A.B.example.com.", "*.b.example.com")],
)
def test_wildcard_for(host: str, expected: str) -> None:
    assert wildcard_for(host) == expected


def test_wildcard_for_needs_a_parent() -> None:
    with pytest.raises(ValueError, match="no parent"):
        wildcard_for("localhost")


LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
# ACM's pattern wants a top-level label of at least two characters.
TOP_LABEL = st.from_regex(r"[a-z][a-z0-9]{1,5}", fullmatch=True)
DOMAIN = st.builds(lambda labels, top: ".".join([*labels, top]), st.lists(LABEL, min_size=1, max_size=3), TOP_LABEL)


@given(label=LABEL, extra=LABEL, domain=DOMAIN, upper=st.booleans())
def test_wildcard_covers_exactly_one_label(label: str, extra: str, domain: str, upper: bool) -> None:
    """*.D covers L.D (in any case), never D itself nor L.M.D."""
    pattern = "*." + domain
    host = f"{label}.{domain}"
    assert name_matches(pattern, host.upper() if upper else host)
    assert not name_matches(pattern, domain)
    assert not name_matches(pattern, f"{extra}.{label}.{domain}")
    assert covers([validate_domain(pattern)], host)


@given(host=DOMAIN, other=DOMAIN)
def test_exact_name_matches_only_itself(host: str, other: str) -> None:
    """An exact name covers the host iff they are equal ignoring case and a trailing dot."""
    assert name_matches(host.upper(), host + ".")
    assert name_matches(host, other) is (normalize(host) == normalize(other))
