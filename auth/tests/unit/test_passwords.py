import pytest

from auth.passwords import check_password, hash_password

# The seed user's hash as the Go system stored it (golang.org/x/crypto/bcrypt writes `$2a$`).
GO_HASH_OF_VERYSECRET = "$2a$12$1zGLuYDDNvATh4RA4avbKuheAMpb1svexSzrQm7up.bnpwQHs0jNe"


def test_hash_then_check_round_trips():
    hashed = hash_password("s3cret", cost=4)
    assert hashed.startswith("$2b$04$")
    assert check_password("s3cret", hashed)


def test_default_cost_is_12():
    assert hash_password("x").startswith("$2b$12$")


def test_go_made_2a_hash_verifies():
    assert check_password("verysecret", GO_HASH_OF_VERYSECRET)


@pytest.mark.parametrize(
    ("password", "hashed"),
    [
        ("wrong", GO_HASH_OF_VERYSECRET),
        ("", GO_HASH_OF_VERYSECRET),
        ("verysecret" + "x" * 80, GO_HASH_OF_VERYSECRET),  # over bcrypt's 72 bytes
        ("verysecret", "not a bcrypt hash"),
        ("verysecret", ""),
    ],
)
def test_mismatches_are_false_not_errors(password, hashed):
    assert check_password(password, hashed) is False
