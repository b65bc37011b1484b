from common.config import load_config, service_config


def test_env_vars_fill_in_and_defaults_apply(tmp_path, monkeypatch):
    path = tmp_path / "config.yaml"
    path.write_text(
        "AMQP_URI: ${TEST_AMQP:pyamqp://guest:guest@localhost}\n"
        "PORT: ${TEST_PORT:8080}\n"
        "ENABLED: ${TEST_ENABLED:true}\n"
        "NAME: ${TEST_NAME}\n"
    )
    monkeypatch.setenv("TEST_PORT", "9090")
    monkeypatch.setenv("TEST_NAME", "broker")
    monkeypatch.delenv("TEST_AMQP", raising=False)
    monkeypatch.delenv("TEST_ENABLED", raising=False)
    assert load_config(path) == {
        "AMQP_URI": "pyamqp://guest:guest@localhost",
        "PORT": 9090,
        "ENABLED": True,
        "NAME": "broker",
    }


def test_every_service_config_loads_with_its_defaults():
    for service in ("broker", "auth", "logger", "listener", "mailer", "gateway_ui"):
        config = service_config(service)
        assert "LOGGING" in config, service
