from pathlib import Path

import pytest

from mgd.config import SETTINGS, ConfigError, load_settings

DOCS = Path(__file__).parents[1] / "docs" / "configuration.md"


def load(tmp_path, environ=None, **overrides):
    return load_settings(overrides, environ={"MGD_INSTANCE_PATH": str(tmp_path), **(environ or {})})


def test_defaults_need_nothing_installed(tmp_path):
    values = load(tmp_path)
    assert values["DATABASE_URL"] == f"sqlite:///{tmp_path / 'mgd.sqlite3'}"
    assert values["BROKER_URL"] == ""
    assert (values["SMS_BACKEND"], values["MAIL_BACKEND"], values["DEFAULT_LOCALE"]) == (
        "console",
        "console",
        "es",
    )


def test_development_secret_is_generated_once_and_kept(tmp_path):
    first, second = load(tmp_path)["SECRET_KEY"], load(tmp_path)["SECRET_KEY"]
    assert len(first) == 64 and first == second
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_environment_values_are_typed(tmp_path):
    values = load(
        tmp_path, {"MGD_SMTP_PORT": "2525", "MGD_SMTP_STARTTLS": "no", "MGD_BROKER_URL": "redis://h:6379/0"}
    )
    assert (values["SMTP_PORT"], values["SMTP_STARTTLS"], values["BROKER_URL"]) == (
        2525,
        False,
        "redis://h:6379/0",
    )


def test_overrides_win_over_the_environment(tmp_path):
    assert load(tmp_path, {"MGD_SMS_BACKEND": "file"}, SMS_BACKEND="console")["SMS_BACKEND"] == "console"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"MGD_SMS_BAKEND": "file"}, "MGD_SMS_BAKEND: unknown setting"),
        ({"MGD_SMTP_PORT": "twenty"}, "MGD_SMTP_PORT: 'twenty' is not valid"),
        ({"MGD_SMTP_STARTTLS": "maybe"}, "MGD_SMTP_STARTTLS: 'maybe' is not valid"),
        ({"MGD_SMS_BACKEND": "pigeon"}, "MGD_SMS_BACKEND: 'pigeon' is not one of console, file, twilio"),
        ({"MGD_ENV": "production"}, "MGD_SECRET_KEY: required when MGD_ENV=production"),
        ({"MGD_SMS_BACKEND": "twilio"}, "MGD_TWILIO_ACCOUNT_SID: required when MGD_SMS_BACKEND=twilio"),
        ({"MGD_MAIL_BACKEND": "smtp"}, "MGD_SMTP_HOST: required when MGD_MAIL_BACKEND=smtp"),
        ({"MGD_BROKER_URL": "kafka://h"}, "MGD_BROKER_URL: expected empty, redis://… or amqp://…"),
    ],
)
def test_bad_settings_stop_start_up_naming_the_setting(tmp_path, environ, message):
    with pytest.raises(ConfigError, match=message):
        load(tmp_path, environ)


def test_test_only_variables_are_not_settings(tmp_path):
    load(tmp_path, {"MGD_TEST_DATABASE_URL": "postgresql://x"})


def test_every_setting_is_documented():
    text = DOCS.read_text(encoding="utf-8")
    for setting in SETTINGS:
        assert f"`MGD_{setting.name}`" in text, setting.name
