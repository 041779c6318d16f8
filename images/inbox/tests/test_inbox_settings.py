"""Settings from INBOX_* variables and flags: defaults, overrides, and refusals."""

import pytest

from preview_inbox.__main__ import parse_args
from preview_inbox.settings import Settings, SettingsError, env_name


def test_defaults_without_any_variable() -> None:
    settings = Settings.load({})

    assert settings == Settings()
    assert (settings.host, settings.port, settings.cap) == ("127.0.0.1", 8080, 1000)
    assert settings.auth_enabled is False


def test_every_setting_is_read_from_its_variable() -> None:
    environ = {
        "INBOX_HOST": "0.0.0.0",
        "INBOX_PORT": "9000",
        "INBOX_CAP": "50",
        "INBOX_MAX_BODY_BYTES": "1024",
        "INBOX_MAX_TOTAL_BYTES": "1048576",
        "INBOX_USERNAME": "reviewer",
        "INBOX_PASSWORD": "pw",
        "INBOX_REDIS_URL": "redis://redis.preview.test:6379/1",
        "INBOX_MAILHOG_URL": "http://mailhog.preview.test:8025/",
        "INBOX_MAILHOG_LIMIT": "20",
        "INBOX_PREVIEW_ID": "shop-pr-42",
        "INBOX_LINK_DASHBOARD": "https://jobs.shop-pr-42.preview.test",
        "INBOX_LINK_MAILHOG": "https://mail.shop-pr-42.preview.test",
        "INBOX_LINK_NOMAD": "https://nomad.preview.test/ui/jobs?namespace=shop-pr-42",
        "INBOX_RESPONSES": '[{"path": "/hooks/*", "status": 503, "times": 2}]',
        "INBOX_LOG_LEVEL": "debug",
    }

    settings = Settings.load(environ)

    assert settings.host == "0.0.0.0"
    assert (settings.port, settings.cap, settings.max_body_bytes) == (9000, 50, 1024)
    assert settings.max_total_bytes == 1_048_576
    assert (settings.username, settings.password) == ("reviewer", "pw")
    assert settings.redis_url == "redis://redis.preview.test:6379/1"
    assert settings.mailhog_url == "http://mailhog.preview.test:8025"
    assert settings.mailhog_limit == 20
    assert settings.preview_id == "shop-pr-42"
    assert settings.link_nomad.endswith("namespace=shop-pr-42")
    assert [(rule.path, rule.status, rule.times) for rule in settings.responses] == [
        ("/hooks/*", 503, 2)
    ]
    assert settings.log_level == "DEBUG"


def test_flags_override_variables() -> None:
    overrides = parse_args(["--port", "9100", "--preview-id", "from-flag"])

    settings = Settings.load({"INBOX_PORT": "9000", "INBOX_CAP": "7"}, overrides)

    assert (settings.port, settings.cap, settings.preview_id) == (9100, 7, "from-flag")


def test_password_has_no_flag() -> None:
    with pytest.raises(SystemExit):
        parse_args(["--password", "visible-in-ps"])


def test_empty_variable_means_unset() -> None:
    assert Settings.load({"INBOX_CAP": ""}).cap == 1000


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        pytest.param({"INBOX_PORT": "http"}, "INBOX_PORT must be an integer", id="port-text"),
        pytest.param({"INBOX_CAP": "0"}, "INBOX_CAP must be between 1", id="cap-zero"),
        pytest.param({"INBOX_MAILHOG_LIMIT": "500"}, "between 1 and 250", id="mailhog-limit"),
        pytest.param(
            {"INBOX_MAX_BODY_BYTES": "200000", "INBOX_MAX_TOTAL_BYTES": "100000"},
            "INBOX_MAX_TOTAL_BYTES .* must be at least INBOX_MAX_BODY_BYTES",
            id="total-under-body",
        ),
        pytest.param({"INBOX_USERNAME": "reviewer"}, "must be set together", id="user-only"),
        pytest.param({"INBOX_PASSWORD": "pw"}, "must be set together", id="password-only"),
        pytest.param({"INBOX_REDIS_URL": "http://r:6379"}, "redis://", id="redis-scheme"),
        pytest.param({"INBOX_MAILHOG_URL": "mailhog:8025"}, "http://", id="mailhog-scheme"),
        pytest.param({"INBOX_LINK_NOMAD": "javascript:alert(1)"}, "http://", id="link-script"),
        pytest.param({"INBOX_RESPONSES": "{"}, "not valid JSON", id="responses-json"),
        pytest.param({"INBOX_RESPONSES": '[{"path": "x"}]'}, "0.path", id="responses-rule"),
        pytest.param({"INBOX_LOG_LEVEL": "LOUD"}, "INBOX_LOG_LEVEL", id="log-level"),
    ],
)
def test_bad_settings_are_refused_by_name(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.load(environ)


def test_refusal_never_echoes_a_secret_url() -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.load({"INBOX_REDIS_URL": "http://:hunter2@redis:6379"})

    assert "hunter2" not in str(refused.value)


def test_secrets_are_left_out_of_repr() -> None:
    settings = Settings.load(
        {
            "INBOX_USERNAME": "reviewer",
            "INBOX_PASSWORD": "hunter2",
            "INBOX_REDIS_URL": "redis://:redispw@redis:6379",
        }
    )

    assert "hunter2" not in repr(settings)
    assert "redispw" not in repr(settings)


def test_variable_names_share_the_prefix() -> None:
    assert env_name("max_body_bytes") == "INBOX_MAX_BODY_BYTES"


def test_unknown_override_is_refused() -> None:
    with pytest.raises(SettingsError, match="unknown setting"):
        Settings.load({}, {"colour": "blue"})
