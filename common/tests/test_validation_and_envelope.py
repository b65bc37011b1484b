import json

import pytest

from common.envelope import envelope, error_response, json_response
from common.errors import InvalidInput
from common.validation import Credentials, LogEntry, parse_json_object, validate


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "log is required"),
        ("text", "log must be an object"),
        ({"data": "d"}, "log.name is required"),
        ({"name": 1, "data": "d"}, "log.name must be a string"),
        ({"name": "", "data": "d"}, "log.name must not be empty"),
        ({"name": "n" * 256, "data": "d"}, "log.name must be at most 255 characters"),
        ({"name": "n", "data": None}, "log.data must be a string"),
        ({"name": "n", "data": "é" * 40_000}, "log.data must be at most 64 KiB"),  # 80 KB UTF-8
    ],
)
def test_log_entry_rules_name_the_field(value, message):
    with pytest.raises(InvalidInput) as raised:
        validate(LogEntry, value, "log")
    assert raised.value.message == message


def test_valid_entries_pass_at_the_limits():
    entry = validate(LogEntry, {"name": "n" * 255, "data": "x" * 65536, "extra": 1}, "log")
    assert (len(entry.name), len(entry.data)) == (255, 65536)


def test_no_type_coercion():
    with pytest.raises(InvalidInput, match="password must be a string"):
        validate(Credentials, {"email": "a@b.c", "password": 1234})


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "malformed JSON body"),
        (b"{", "malformed JSON body"),
        (b'{"a": 1} {"b": 2}', "malformed JSON body"),
        (b"\xff\xfe", "malformed JSON body"),
        (b"[]", "body must be a JSON object"),
        (b"42", "body must be a JSON object"),
    ],
)
def test_body_must_be_exactly_one_json_object(raw, message):
    with pytest.raises(InvalidInput, match=message):
        parse_json_object(raw)


def test_envelope_leaves_out_empty_data():
    assert envelope("ok") == {"error": False, "message": "ok"}
    assert envelope("ok", data=[]) == {"error": False, "message": "ok"}
    assert envelope("ok", data={"a": 1}) == {"error": False, "message": "ok", "data": {"a": 1}}


def test_responses_are_json_envelopes():
    response = json_response(202, "accepted", data=[1])
    assert (response.status_code, response.mimetype) == (202, "application/json")
    assert json.loads(response.get_data()) == {"error": False, "message": "accepted", "data": [1]}
    failure = error_response(418, "short and stout")
    assert json.loads(failure.get_data()) == {"error": True, "message": "short and stout"}
