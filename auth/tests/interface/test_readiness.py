"""Auth is ready when RabbitMQ and PostgreSQL answer; PostgreSQL is reached through a port the
test closes and opens again (the machine's server is never stopped)."""

from sqlalchemy.engine import make_url

from auth.service import AuthService
from testing.ops import wait_for_health


def test_readiness_follows_postgresql(container_factory, config_for, users_db_uri, late_ports):
    url = make_url(users_db_uri)
    door = late_ports((url.host, url.port or 5432))
    door.open()
    through_door = url.set(host="127.0.0.1", port=door.port).render_as_string(hide_password=False)
    container = container_factory(
        AuthService, config_for("auth", DB_URIS={"auth:Base": through_door})
    )
    container.start()

    checks = wait_for_health(container, 200)
    assert checks["postgresql"]["ready"] is True
    assert checks["rabbitmq"] == {"ready": True, "detail": "consuming rpc-auth", "required": True}

    door.close()
    checks = wait_for_health(container, 503)
    assert checks["postgresql"]["ready"] is False
    assert checks["rabbitmq"]["ready"] is True

    door.open()
    assert wait_for_health(container, 200)["postgresql"]["ready"] is True
