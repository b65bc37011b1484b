"""The XML-RPC WSGI application with stand-in methods (the real server: tests/interface)."""

import xmlrpc.client

import pytest
from werkzeug.test import Client

from logger.xmlrpc import XmlRpcApp


class FakeMethod:
    def __init__(self, result):
        self.result = result
        self.calls = []

    def call(self, params, context_data=None):
        self.calls.append(params)
        return self.result


def call(app, *params, method="Echo"):
    response = Client(app).post("/", data=xmlrpc.client.dumps(params, method))
    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    return xmlrpc.client.loads(response.data, use_builtin_types=True)[0][0]


def test_the_call_is_dispatched_by_method_name_with_its_params():
    echo, other = FakeMethod("echoed"), FakeMethod("other")
    app = XmlRpcApp({"Echo": echo, "Other": other})

    assert call(app, {"Name": "n"}, 2) == "echoed"
    assert echo.calls == [({"Name": "n"}, 2)]
    assert other.calls == []


def test_a_result_that_xmlrpc_cannot_carry_is_an_internal_error_fault():
    app = XmlRpcApp({"Echo": FakeMethod(object())})

    with pytest.raises(xmlrpc.client.Fault) as raised:
        call(app)

    assert (raised.value.faultCode, raised.value.faultString) == (500, "internal error")
