"""The `Smtp` provider: settings, the SMTP conversation and how failures are reported."""

import errno
import smtplib
import socket
import ssl
from email.message import EmailMessage
from unittest.mock import Mock, call, patch

import eventlet
import pytest

from common.config import service_config
from common.errors import DownstreamError, DownstreamUnavailable
from mailer.dependencies import Smtp, SmtpClient, SmtpSettings, translate


def settings(**overrides) -> SmtpSettings:
    return SmtpSettings.from_config({**service_config("mailer"), **overrides})


@pytest.fixture
def message():
    message = EmailMessage()
    message["Message-ID"] = "<1@example.com>"
    message.set_content("hi")
    return message


@pytest.fixture
def smtplib_mock():
    with (
        patch("mailer.dependencies.smtplib.SMTP") as plain,
        patch("mailer.dependencies.smtplib.SMTP_SSL") as tls,
    ):
        yield Mock(SMTP=plain, SMTP_SSL=tls)


def test_settings_default_to_the_local_catcher():
    defaults = settings()

    assert (defaults.host, defaults.port, defaults.encryption) == ("localhost", 1025, "none")
    assert (defaults.username, defaults.password, defaults.timeout) == ("", "", 10.0)
    assert str(defaults.default_sender) == "John Smith <john.smith@example.com>"


def test_the_password_stays_out_of_the_settings_repr():
    assert "s3cret" not in repr(settings(MAIL_PASSWORD="s3cret"))


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"MAIL_ENCRYPTION": "starttls"}, "MAIL_ENCRYPTION must be one of none, tls, ssl"),
        ({"FROM_ADDRESS": "nobody"}, "FROM_ADDRESS is not a valid email address"),
        ({"FROM_ADDRESS": "a@example.com\nBcc: b@example.com"}, "FROM_ADDRESS must not contain"),
    ],
)
def test_bad_settings_stop_the_service_starting(overrides, problem):
    with pytest.raises(ValueError, match=problem):
        settings(**overrides)


def test_the_provider_gives_each_worker_a_client_on_the_configured_server():
    container = Mock(config={**service_config("mailer"), "MAIL_PORT": 2525})
    provider = Smtp().bind(container, "smtp")
    provider.setup()

    client = provider.get_dependency(Mock())

    assert isinstance(client, SmtpClient)
    assert client.settings.port == 2525


def test_plain_smtp_sends_and_says_goodbye(smtplib_mock, message):
    SmtpClient(settings()).send(message)

    smtplib_mock.SMTP.assert_called_once_with("localhost", 1025, timeout=10.0)
    connection = smtplib_mock.SMTP.return_value
    assert connection.method_calls == [call.send_message(message), call.quit(), call.close()]


def test_tls_upgrades_the_connection_before_logging_in(smtplib_mock, message):
    SmtpClient(settings(MAIL_ENCRYPTION="tls", MAIL_USERNAME="u", MAIL_PASSWORD="p")).send(message)

    connection = smtplib_mock.SMTP.return_value
    names = [name for name, _, _ in connection.method_calls]
    assert names == ["starttls", "login", "send_message", "quit", "close"]
    assert isinstance(connection.starttls.call_args.kwargs["context"], ssl.SSLContext)
    connection.login.assert_called_once_with("u", "p")


def test_ssl_speaks_tls_from_the_first_byte(smtplib_mock, message):
    SmtpClient(settings(MAIL_ENCRYPTION="ssl", MAIL_PORT=465)).send(message)

    smtplib_mock.SMTP.assert_not_called()
    assert smtplib_mock.SMTP_SSL.call_args.args == ("localhost", 465)
    smtplib_mock.SMTP_SSL.return_value.send_message.assert_called_once_with(message)


def test_a_failed_goodbye_after_the_mail_was_accepted_is_not_a_failure(smtplib_mock, message):
    smtplib_mock.SMTP.return_value.quit.side_effect = smtplib.SMTPServerDisconnected()

    SmtpClient(settings()).send(message)

    smtplib_mock.SMTP.return_value.close.assert_called_once()


def test_a_failure_closes_the_connection_and_is_translated(smtplib_mock, message):
    connection = smtplib_mock.SMTP.return_value
    connection.send_message.side_effect = smtplib.SMTPDataError(554, b"rejected by policy")

    with pytest.raises(DownstreamError, match=r"mail server refused the mail \(554\)"):
        SmtpClient(settings()).send(message)

    connection.close.assert_called_once()


def test_a_server_that_stalls_before_the_mail_hits_the_connect_deadline(smtplib_mock, message):
    smtplib_mock.SMTP.side_effect = lambda *args, **kwargs: eventlet.sleep(5)

    with pytest.raises(DownstreamUnavailable, match=r"no answer within 0\.05 s"):
        SmtpClient(settings(MAIL_TIMEOUT=0.05)).send(message)


def test_a_failed_login_closes_the_connection(smtplib_mock, message):
    connection = smtplib_mock.SMTP.return_value
    connection.login.side_effect = smtplib.SMTPAuthenticationError(535, b"bad credentials")

    with pytest.raises(DownstreamError, match=r"mail server refused the login \(535\)"):
        SmtpClient(settings(MAIL_USERNAME="u", MAIL_PASSWORD="wrong")).send(message)

    connection.send_message.assert_not_called()
    connection.close.assert_called_once()


def test_a_server_that_stalls_mid_conversation_hits_the_send_deadline(smtplib_mock, message):
    smtplib_mock.SMTP.return_value.send_message.side_effect = lambda _: eventlet.sleep(5)

    with pytest.raises(DownstreamUnavailable, match=r"no answer within 0\.05 s"):
        SmtpClient(settings(MAIL_TIMEOUT=0.05)).send(message)


def test_a_bug_is_not_disguised_as_a_mail_server_failure(smtplib_mock, message):
    smtplib_mock.SMTP.return_value.send_message.side_effect = KeyError("bug")

    with pytest.raises(KeyError):
        SmtpClient(settings()).send(message)


def disconnected_by(cause: Exception) -> smtplib.SMTPServerDisconnected:
    """How smtplib reports a failed read: a disconnection raised while handling the cause."""
    try:
        raise cause
    except Exception:
        try:
            raise smtplib.SMTPServerDisconnected(f"Connection unexpectedly closed: {cause}")
        except smtplib.SMTPServerDisconnected as exc:
            return exc


@pytest.mark.parametrize(
    ("failure", "error", "text"),
    [
        (
            ConnectionRefusedError(111, "Connection refused"),
            DownstreamUnavailable,
            "mail server unreachable: connection refused",
        ),
        (
            OSError(errno.ECONNREFUSED, "ECONNREFUSED"),
            DownstreamUnavailable,
            "mail server unreachable: connection refused",
        ),
        (
            OSError(113, "No route to host"),
            DownstreamUnavailable,
            "mail server unreachable: no route to host",
        ),
        (
            TimeoutError("timed out"),
            DownstreamUnavailable,
            "mail server unreachable: no answer within 10 s",
        ),
        (
            socket.gaierror(-2, "Name or service not known"),
            DownstreamUnavailable,
            "mail server unreachable: its host name does not resolve",
        ),
        (
            disconnected_by(TimeoutError("timed out")),
            DownstreamUnavailable,
            "mail server unreachable: no answer within 10 s",
        ),
        (
            smtplib.SMTPServerDisconnected("Connection unexpectedly closed"),
            DownstreamUnavailable,
            "mail server unreachable: it closed the connection",
        ),
        (
            smtplib.SMTPConnectError(421, b"mx.internal busy"),
            DownstreamError,
            "mail server refused the mail (421)",
        ),
        (
            smtplib.SMTPRecipientsRefused({"a@example.com": (550, b"no such user")}),
            DownstreamError,
            "mail server refused the recipient (550)",
        ),
        (
            smtplib.SMTPSenderRefused(553, b"not yours", "me@example.com"),
            DownstreamError,
            "mail server refused the sender (553)",
        ),
        (
            smtplib.SMTPAuthenticationError(535, b"bad credentials"),
            DownstreamError,
            "mail server refused the login (535)",
        ),
        (
            smtplib.SMTPNotSupportedError("STARTTLS extension not supported by server."),
            DownstreamError,
            "mail server cannot take the mail: STARTTLS extension not supported by server.",
        ),
        (
            ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"),
            DownstreamError,
            "mail server unusable: TLS negotiation failed",
        ),
    ],
)
def test_failures_become_the_systems_errors(failure, error, text):
    translated = translate(failure, timeout=10.0)

    assert type(translated) is error
    assert translated.message == text


def test_anything_else_is_left_alone():
    assert translate(ValueError("bug"), timeout=10.0) is None
