import shutil
import subprocess
from pathlib import Path

import pytest

from mgd.config import SETTINGS, ConfigError, load_settings
from mgd.config_docs import DOC, settings_table, with_current_table

EXAMPLE = Path(__file__).parents[1] / "config" / "production.env.example"

#: A production set that passes every check; each refusal test spoils one value of it.
PRODUCTION = {
    "MGD_ENV": "production",
    "MGD_SECRET_KEY": "q3V9kV1mJ2x8wR7tYc0pL5nZ4sB6dF1gH8jK2lM9nQ0",
    "MGD_PUBLIC_URL": "https://empresas.example",
    "MGD_SESSION_COOKIE_SECURE": "true",
    "MGD_DATABASE_URL": "postgresql+psycopg://mgd_app:pw@db:5432/mgd",
    "MGD_BROKER_URL": "redis://redis:6379/0",
    "MGD_RATELIMIT_STORAGE_URL": "redis://redis:6379/1",
    "MGD_SMS_BACKEND": "twilio",
    "MGD_TWILIO_ACCOUNT_SID": "AC123",
    "MGD_TWILIO_AUTH_TOKEN": "token",
    "MGD_TWILIO_FROM": "+34600000000",
    "MGD_MAIL_BACKEND": "smtp",
    "MGD_SMTP_HOST": "smtp",
    "MGD_ENCRYPTION_KEYS": "u-cQFQS2IWX0PoPbHO_ehUc3dYGfqbt35l-lwDaXop0=",
}


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
    """The suite's own MGD_TEST_* variables may be set where the portal runs: they neither stop start-up (as an
    unknown MGD_* variable does) nor change any setting."""
    test_only = {"MGD_TEST_DATABASE_URL": "postgresql://x", "MGD_TEST_BROKER_URL": "redis://h:6379/15"}
    values = load(tmp_path, test_only)
    assert values == load(tmp_path)
    assert values["DATABASE_URL"] == f"sqlite:///{tmp_path / 'mgd.sqlite3'}" and values["BROKER_URL"] == ""
    assert not any(name.startswith("TEST_") for name in values)


def test_the_documented_settings_are_the_declared_ones():
    text = DOC.read_text(encoding="utf-8")
    assert with_current_table(text) == text, "run `python -m mgd.config_docs`"
    for setting in SETTINGS:
        assert f"`MGD_{setting.name}`" in settings_table(), setting.name


def test_a_safe_production_set_starts(tmp_path):
    values = load(tmp_path, PRODUCTION)
    assert (values["LOG_FORMAT"], values["PUBLIC_URL"]) == ("json", "https://empresas.example")


def test_development_keeps_the_laptop_defaults(tmp_path):
    values = load(tmp_path)
    assert values["LOG_FORMAT"] == "text" and values["RATELIMIT_STORAGE_URL"] == "memory://"


@pytest.mark.parametrize(
    ("spoilt", "message"),
    [
        ({"MGD_SECRET_KEY": "x"}, "MGD_SECRET_KEY: needs 32 random bytes"),
        ({"MGD_SECRET_KEY": "a" * 64}, "MGD_SECRET_KEY: needs 32 random bytes"),
        ({"MGD_SECRET_KEY": "test-secret"}, "MGD_SECRET_KEY: a documented example"),
        ({"MGD_SECRET_KEY": "change-me-to-64-random-hex-characters"}, "MGD_SECRET_KEY: still the example"),
        ({"MGD_SECRET_KEY": ""}, "MGD_SECRET_KEY: required"),
        ({"MGD_DATABASE_URL": ""}, "MGD_DATABASE_URL: PostgreSQL is required"),
        ({"MGD_DATABASE_URL": "sqlite:////srv/mgd.sqlite3"}, "MGD_DATABASE_URL: PostgreSQL is required"),
        ({"MGD_SMS_BACKEND": "console"}, "MGD_SMS_BACKEND: must be twilio"),
        ({"MGD_SMS_BACKEND": "file"}, "MGD_SMS_BACKEND: must be twilio"),
        ({"MGD_MAIL_BACKEND": "console"}, "MGD_MAIL_BACKEND: must be smtp"),
        ({"MGD_MAIL_BACKEND": "file"}, "MGD_MAIL_BACKEND: must be smtp"),
        ({"MGD_RATELIMIT_STORAGE_URL": "memory://"}, "MGD_RATELIMIT_STORAGE_URL: memory://"),
        ({"MGD_SESSION_COOKIE_SECURE": "false"}, "MGD_SESSION_COOKIE_SECURE: must be true"),
        ({"MGD_BROKER_URL": ""}, "MGD_BROKER_URL: required in production"),
        ({"MGD_PUBLIC_URL": ""}, "MGD_PUBLIC_URL: required in production"),
        ({"MGD_PUBLIC_URL": "http://empresas.example"}, "MGD_PUBLIC_URL: required in production, an https"),
        ({"MGD_SMTP_PASSWORD": "change-me"}, "MGD_SMTP_PASSWORD: still the example's CHANGE-ME"),
    ],
)
def test_production_refuses_unsafe_settings_naming_them(tmp_path, spoilt, message):
    with pytest.raises(ConfigError, match=message):
        load(tmp_path, {**PRODUCTION, **spoilt})


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"MGD_PUBLIC_URL": "empresas.example"}, "MGD_PUBLIC_URL: expected https://host"),
        ({"MGD_PROXY_HOPS": "-1"}, "MGD_PROXY_HOPS: expected 0 or more"),
        ({"MGD_MAX_CONTENT_LENGTH": "10"}, "MGD_MAX_CONTENT_LENGTH: expected at least 1024"),
        ({"MGD_LOG_FORMAT": "xml"}, "MGD_LOG_FORMAT: 'xml' is not one of text, json"),
    ],
)
def test_malformed_edge_settings_are_refused_everywhere(tmp_path, environ, message):
    with pytest.raises(ConfigError, match=message):
        load(tmp_path, environ)


def sourced_example() -> dict[str, str]:
    """The example file as a POSIX shell loads it (the README's `set -a; . ./production.env; set +a`)."""
    script = f"set -eu; set -a; . '{EXAMPLE}'; set +a; env -0"
    bash = shutil.which("bash")
    output = subprocess.run([bash, "-c", script], capture_output=True, check=True, env={}).stdout  # noqa: S603
    pairs = (item.split("=", 1) for item in output.decode().split("\0") if item.startswith("MGD_"))
    return dict(pairs)


def test_the_production_example_is_valid_shell_and_complete():
    example = sourced_example()
    assert example["MGD_MAIL_FROM"] == "Movistar Empresas <no-reply@empresas.example>"
    assert set(PRODUCTION) <= set(example)


def test_the_production_example_is_refused_until_every_placeholder_is_replaced(tmp_path):
    example = sourced_example()
    placeholders = [name for name, value in example.items() if "CHANGE-ME" in value]
    assert {"MGD_SECRET_KEY", "MGD_PUBLIC_URL", "MGD_DATABASE_URL", "MGD_SMTP_PASSWORD"} <= set(placeholders)
    filled = {name: PRODUCTION.get(name, "filled-in") for name in placeholders}
    load(tmp_path, {**example, **filled})
    for name in placeholders:
        with pytest.raises(ConfigError, match=f"^{name}: "):
            load(tmp_path, {**example, **filled, name: example[name]})
