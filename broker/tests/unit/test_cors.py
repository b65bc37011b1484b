import pytest

from broker.cors import CorsPolicy

POLICY = CorsPolicy.from_setting(
    "http://localhost:8081, http://localhost:* https://app.example.com https://*.example.org"
)


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("http://localhost:8081", True),
        ("http://localhost:3000", True),
        ("https://app.example.com", True),
        ("https://evil.example.com", False),
        ("http://localhost.evil.com", False),
        # A `*` is one port or host label, never more (issue 10: a glob matched these).
        ("http://localhost:8081.evil.com", False),
        ("http://localhost:8081/evil", False),
        ("http://localhost:8081@evil.com", False),
        ("http://localhost", False),
        ("https://localhost:8081", False),
        ("https://admin.example.org", True),
        ("https://evil.com/.example.org", False),
        ("https://a.b.example.org", False),
        ("https://evil.com#.example.org", False),
        ("", False),
        (None, False),
    ],
)
def test_origin_matching(origin, allowed):
    assert POLICY.allows(origin) is allowed
    headers = dict(POLICY.preflight_headers(origin))
    assert ("Access-Control-Allow-Origin" in headers) is allowed
    assert headers["Vary"] == "Origin"
    if allowed:
        assert headers["Access-Control-Allow-Origin"] == origin
        assert headers["Access-Control-Allow-Methods"] == "GET, POST, PUT, DELETE, OPTIONS"
        assert "X-Request-ID" in headers["Access-Control-Allow-Headers"]
