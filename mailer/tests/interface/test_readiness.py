"""The mailer is ready when RabbitMQ and the mail server answer; the mail server (the machine's
maildev) is reached through a port the test closes and opens again."""

from testing.infrastructure import SMTP_HOST, SMTP_PORT
from testing.ops import wait_for_health


def test_readiness_follows_the_mail_server(start_mailer, late_ports):
    door = late_ports((SMTP_HOST, SMTP_PORT))
    door.open()
    container = start_mailer(MAIL_HOST="127.0.0.1", MAIL_PORT=door.port)

    checks = wait_for_health(container, 200)
    assert checks["smtp"]["ready"] is True
    assert checks["smtp"]["detail"] == f"127.0.0.1:{door.port} answered NOOP"

    door.close()
    checks = wait_for_health(container, 503)
    assert checks["smtp"]["ready"] is False
    assert checks["rabbitmq"]["ready"] is True

    door.open()
    assert wait_for_health(container, 200)["smtp"]["ready"] is True
