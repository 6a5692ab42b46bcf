"""Every setting of the portal, declared once with its type and default.

Settings are read from ``MGD_*`` environment variables over these defaults; explicit overrides (tests, tools)
win over both. ``load_settings`` refuses unknown, missing or malformed settings with a message naming them.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, time
from pathlib import Path
from typing import Any

from mgd.crypto import Keyring, derived_key

PREFIX = "MGD_"

#: The portal's languages, and the regional formats of dates and numbers in each: English pages write dates
#: day first (en-GB), as their readers in Spain expect; Spanish ones use Spain's.
LANGUAGES = {"es": "es_ES", "en": "en_GB"}


class ConfigError(Exception):
    """A setting is unknown, missing or malformed; the message names it."""


def parse_bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError("expected one of true/false, yes/no, on/off, 1/0")


def _parse_int(raw: str) -> int:
    return int(raw.strip())


def parse_clock(raw: str) -> time:
    """A time of day written ``HH:MM`` (24 h)."""
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", raw)
    if match is None or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise ValueError("expected a time of day such as 08:00 or 18:30")
    return time(int(match.group(1)), int(match.group(2)))


def parse_dates(raw: str) -> tuple[date, ...]:
    """Comma-separated days written ``YYYY-MM-DD`` (empty: none)."""
    days = []
    for part in raw.split(","):
        if part.strip():
            try:
                days.append(date.fromisoformat(part.strip()))
            except ValueError:
                raise ValueError(f"{part.strip()!r} is not a day written YYYY-MM-DD") from None
    return tuple(sorted(days))


@dataclass(frozen=True)
class Rate:
    """At most ``count`` events per ``seconds``, written ``5/10min``, ``300/hour`` or ``2000/day``."""

    count: int
    seconds: int


_RATE = re.compile(r"\s*(\d+)\s*/\s*(\d*)\s*(s|sec|second|min|minute|h|hour|d|day)s?\s*", re.ASCII)
_UNIT_SECONDS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hour": 3600,
    "d": 86400,
    "day": 86400,
}


def parse_rate(raw: str) -> Rate:
    match = _RATE.fullmatch(raw)
    if match is None or int(match.group(1)) < 1 or int(match.group(2) or 1) < 1:
        raise ValueError("expected a rate such as 5/10min, 300/hour or 2000/day")
    count, periods, unit = match.groups()
    return Rate(int(count), int(periods or 1) * _UNIT_SECONDS[unit])


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    parse: Callable[[str], Any] = str  # also applied to a text default
    choices: tuple[str, ...] = ()
    secret: bool = False


SETTINGS: tuple[Setting, ...] = (
    Setting("ENV", "development", "Where the portal runs.", choices=("development", "production", "testing")),
    Setting(
        "SECRET_KEY",
        "",
        "Signs sessions and CSRF tokens, and derives the key of the portal's operator scope under Row-Level "
        "Security (run `mgd db upgrade` after changing it). Required in production; in development a random "
        "key is generated once and kept in `instance/secret_key`.",
        secret=True,
    ),
    Setting(
        "DATABASE_URL",
        "",
        "SQLAlchemy URL of the database. Empty: a SQLite file `instance/mgd.sqlite3`. Production: "
        "`postgresql+psycopg://user:password@host/dbname`.",
    ),
    Setting(
        "DATABASE_OWNER_URL",
        "",
        "PostgreSQL: URL of the role that owns the tables. `mgd db upgrade` and `downgrade` use it and grant "
        "the `DATABASE_URL` role the use of every table, so the portal connects as a role that owns none and "
        "Row-Level Security binds it. Empty: `DATABASE_URL` does everything.",
    ),
    Setting(
        "ENCRYPTION_KEYS",
        "",
        "Fernet keys that encrypt secrets at rest (message bodies in the outbox, authenticator secrets), "
        "comma-separated: the first encrypts, every one decrypts. Rotate by putting a new key first and "
        "running `mgd secrets rotate` (docs/security.md). Generate one with `mgd secrets new-key`. Required "
        "in production; in development and tests derived from `SECRET_KEY`.",
        secret=True,
    ),
    Setting(
        "INSTANCE_PATH",
        "",
        "Folder for local state (SQLite file, generated key, dev outboxes). Empty: `./instance`.",
    ),
    Setting(
        "BROKER_URL",
        "",
        "Job broker. Empty: an in-process worker (nothing to install). `redis://host:6379/0` or "
        "`amqp://user:password@host:5672/` for real deployments, with `mgd worker` running the jobs.",
    ),
    Setting("SMS_BACKEND", "console", "How SMS leave the portal.", choices=("console", "file", "twilio")),
    Setting("SMS_FILE", "", "With the `file` SMS backend: the JSON-lines file. Empty: `instance/sms.jsonl`."),
    Setting("TWILIO_ACCOUNT_SID", "", "Twilio account SID (required with the `twilio` SMS backend)."),
    Setting(
        "TWILIO_AUTH_TOKEN", "", "Twilio auth token (required with the `twilio` SMS backend).", secret=True
    ),
    Setting("TWILIO_FROM", "", "Sender number or alphanumeric sender ID for SMS (required with `twilio`)."),
    Setting(
        "TWILIO_BASE_URL",
        "",
        "Override of the Twilio API base URL (for a local Twilio-compatible endpoint). Empty: Twilio's own.",
    ),
    Setting("MAIL_BACKEND", "console", "How emails leave the portal.", choices=("console", "file", "smtp")),
    Setting(
        "MAIL_FILE", "", "With the `file` mail backend: the JSON-lines file. Empty: `instance/mail.jsonl`."
    ),
    Setting("SMTP_HOST", "", "SMTP server (required with the `smtp` mail backend)."),
    Setting("SMTP_PORT", 587, "SMTP port.", parse=_parse_int),
    Setting("SMTP_USERNAME", "", "SMTP user name; empty means no authentication."),
    Setting("SMTP_PASSWORD", "", "SMTP password.", secret=True),
    Setting("SMTP_STARTTLS", True, "Upgrade the SMTP connection with STARTTLS.", parse=parse_bool),
    Setting("SMTP_TIMEOUT", 15, "Seconds before an SMTP connection attempt is abandoned.", parse=_parse_int),
    Setting("MAIL_FROM", "MGD <no-reply@mgd.example>", "The From address of every email."),
    Setting(
        "OUTBOX_MAX_ATTEMPTS",
        6,
        "Delivery attempts of one SMS or email before it is marked failed.",
        parse=_parse_int,
    ),
    Setting(
        "OUTBOX_LEASE_SECONDS",
        300,
        "A message claimed by a worker that did not finish within this time is offered again by the relay.",
        parse=_parse_int,
    ),
    Setting(
        "OUTBOX_RETENTION_DAYS",
        7,
        "Days after which the bodies of sent or failed SMS and emails are erased (recipient, status and "
        "times are kept for audit).",
        parse=_parse_int,
    ),
    Setting(
        "SEND_LIMIT_USER",
        "10/15min",
        "Codes sent for one user (sign-in, new email or mobile, onboarding), whatever the destination.",
        parse=parse_rate,
    ),
    Setting(
        "SEND_LIMIT_DESTINATION",
        "5/15min",
        "SMS or emails sent at a user's request, or during a registration or password reset, to one phone "
        "number or email address.",
        parse=parse_rate,
    ),
    Setting(
        "SEND_LIMIT_COMPANY_HOUR",
        "1000/hour",
        "Such messages sent for the members (and registrations, invitations) of one company, per hour.",
        parse=parse_rate,
    ),
    Setting(
        "SEND_LIMIT_COMPANY_DAY",
        "5000/day",
        "The same, per day. Size both to the largest customer's morning of sign-ins.",
        parse=parse_rate,
    ),
    Setting(
        "SMS_DAILY_QUOTA",
        500,
        "SMS a company may send from its own lines on the web (Orders, Send SMS) per day, Madrid time; each "
        "recipient counts one.",
        parse=_parse_int,
    ),
    Setting(
        "DEFAULT_LOCALE", "es", "Language when the visitor has not chosen one.", choices=tuple(LANGUAGES)
    ),
    Setting(
        "SESSION_COOKIE_SECURE",
        False,
        "Send the session cookie over HTTPS only (true in production).",
        parse=parse_bool,
    ),
    Setting("HELP_PHONE", "1489", "The advisors' phone line shown by the help button."),
    Setting(
        "CHAT_OPENS",
        "08:00",
        "When the advisors' chat opens, Monday to Friday, Madrid time (`HH:MM`).",
        parse=parse_clock,
    ),
    Setting(
        "CHAT_CLOSES",
        "18:00",
        "When the advisors' chat closes, Monday to Friday, Madrid time (`HH:MM`).",
        parse=parse_clock,
    ),
    Setting(
        "CHAT_CLOSED_DAYS",
        "",
        "Days the chat is closed besides Spain's national holidays (the `holidays` package), comma-separated "
        "`YYYY-MM-DD`, e.g. `2026-12-24,2026-12-31`.",
        parse=parse_dates,
    ),
    Setting(
        "CHAT_ANSWER_HOURS",
        4,
        "Hours of opening time within which an advisor answers a message left while the chat was closed or "
        "no advisor was online; the customer is shown the time.",
        parse=_parse_int,
    ),
    Setting(
        "CHAT_LIVE_WAIT_MINUTES",
        10,
        "Minutes a live conversation waits in the queue before it becomes a message (answered within "
        "`MGD_CHAT_ANSWER_HOURS`, by email); it becomes one at once when the chat closes.",
        parse=_parse_int,
    ),
    Setting(
        "CHAT_ADVISOR_ONLINE_SECONDS",
        90,
        "An advisor counts as online this long after their chat pages last asked for news; with none "
        "online a new conversation becomes a message answered later.",
        parse=_parse_int,
    ),
    Setting(
        "CHAT_LONG_POLL",
        False,
        "The conversation pages wait for news (`…/chat/<id>/espera`, held up to `MGD_CHAT_WAIT_SECONDS`) "
        "instead of asking every 2 s: route those paths to `mgd serve-stream` (docs/chat.md).",
        parse=parse_bool,
    ),
    Setting(
        "CHAT_WAIT_SECONDS",
        25,
        'How long the stream process holds a request waiting for chat news before it answers "nothing '
        "new\" (below the proxy's read timeout).",
        parse=_parse_int,
    ),
    Setting(
        "CHAT_RETENTION_DAYS",
        730,
        "Days a closed conversation's transcript is kept; the hourly purge deletes older ones.",
        parse=_parse_int,
    ),
    Setting(
        "OPERATOR_NAME", "MGD Telecomunicaciones, S.A.U.", "The operator's legal name, on every invoice."
    ),
    Setting("OPERATOR_TAX_ID", "A28000032", "The operator's tax ID (CIF), on every invoice."),
    Setting(
        "OPERATOR_ADDRESS",
        "Calle de Ejemplo 1, 28013 Madrid",
        "The operator's registered address, on every invoice.",
    ),
    Setting("PASSWORD_MIN_LENGTH", 8, "Shortest password accepted.", parse=_parse_int),
    Setting(
        "PASSWORD_MAX_LENGTH",
        20,
        "Longest password accepted (the operator's policy caps it).",
        parse=_parse_int,
    ),
    Setting(
        "PASSWORD_CLASSES",
        "lower,upper,digit",
        "Character classes a password needs: any of `lower`, `upper`, `digit`, `symbol`, comma-separated.",
    ),
    Setting(
        "LOCKOUT_THRESHOLD",
        10,
        "Consecutive wrong passwords or codes that lock an account.",
        parse=_parse_int,
    ),
    Setting(
        "LOCKOUT_MINUTES",
        15,
        "First lockout length; each further lockout doubles it until a sign-in or a password reset.",
        parse=_parse_int,
    ),
    Setting(
        "SESSION_IDLE_MINUTES",
        30,
        "A signed-in session ends after this long without a request.",
        parse=_parse_int,
    ),
    Setting(
        "SESSION_ABSOLUTE_HOURS",
        12,
        "A signed-in session ends this long after sign-in, active or not.",
        parse=_parse_int,
    ),
    Setting(
        "REAUTH_MINUTES",
        10,
        "Sensitive changes (email, mobile, authenticator app, an administrator's resets and roles) need a "
        "sign-in or a password confirmation at most this many minutes old.",
        parse=_parse_int,
    ),
    Setting("TERMS_VERSION", "2026-11", "Version of the terms of use; users accept each new version once."),
    Setting(
        "RATELIMIT_STORAGE_URL",
        "memory://",
        "Where rate-limit counters live. `memory://` is per process (development); use `redis://host:6379/1` "
        "when the portal runs in more than one process (refused in production).",
    ),
    Setting(
        "PUBLIC_URL",
        "",
        "The portal's address as users reach it, `https://empresas.example` (required in production). Every "
        "link in an email or SMS is built from it. Empty: from the request (development).",
    ),
    Setting(
        "PROXY_HOPS",
        0,
        "Reverse proxies in front of the portal that are trusted to set `X-Forwarded-For`, `-Proto`, `-Host` "
        "and `-Port`. 0: those headers are ignored (the portal is reached directly).",
        parse=_parse_int,
    ),
    Setting(
        "MAX_CONTENT_LENGTH",
        10 * 1024 * 1024,
        "Largest request body in bytes; a larger one is refused with 413 before it is read.",
        parse=_parse_int,
    ),
    Setting(
        "LOG_FORMAT",
        "",
        "`json` (one object per line) or `text`. Empty: `json` in production, `text` otherwise.",
        choices=("text", "json"),
    ),
    Setting(
        "METRICS_ENABLED",
        False,
        "Serve Prometheus metrics at `/metrics` and, in `mgd worker`, dramatiq's own (docs/deployment.md).",
        parse=parse_bool,
    ),
)

_BY_NAME = {setting.name: setting for setting in SETTINGS}


def _coerce(setting: Setting, value: Any) -> Any:
    if isinstance(value, str) and setting.parse is not str:
        try:
            value = setting.parse(value)
        except ValueError as exc:
            raise ConfigError(f"{PREFIX}{setting.name}: {value!r} is not valid ({exc})") from None
    # A default outside the choices (an empty LOG_FORMAT) means "decided from other settings".
    if setting.choices and value not in setting.choices and value != setting.default:
        raise ConfigError(f"{PREFIX}{setting.name}: {value!r} is not one of {', '.join(setting.choices)}")
    return value


def load_settings(
    overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> dict:
    """Every setting (names without the prefix): defaults, then ``MGD_*`` variables, then ``overrides``.

    Raises ``ConfigError`` naming the first unknown, malformed or missing setting.
    """
    environ = os.environ if environ is None else environ
    values = {setting.name: _coerce(setting, setting.default) for setting in SETTINGS}
    for key, raw in environ.items():
        if not key.startswith(PREFIX) or key.startswith("MGD_TEST_"):
            continue
        name = key.removeprefix(PREFIX)
        if name not in _BY_NAME:
            raise ConfigError(f"{key}: unknown setting (see docs/configuration.md)")
        values[name] = _coerce(_BY_NAME[name], raw)
    for name, value in (overrides or {}).items():
        if name not in _BY_NAME:
            raise ConfigError(f"{PREFIX}{name}: unknown setting (see docs/configuration.md)")
        values[name] = _coerce(_BY_NAME[name], value)
    _fill_paths(values)
    _check_required(values)
    _check_policy(values)
    if values["ENV"] == "production":
        _check_production(values)
    _check_encryption_keys(values)
    return values


def _fill_paths(values: dict) -> None:
    instance = Path(values["INSTANCE_PATH"] or "instance").resolve()
    values["INSTANCE_PATH"] = str(instance)
    if not values["DATABASE_URL"]:
        values["DATABASE_URL"] = f"sqlite:///{instance / 'mgd.sqlite3'}"
    values["SMS_FILE"] = values["SMS_FILE"] or str(instance / "sms.jsonl")
    values["MAIL_FILE"] = values["MAIL_FILE"] or str(instance / "mail.jsonl")
    if not values["SECRET_KEY"] and values["ENV"] != "production":
        values["SECRET_KEY"] = _development_secret(instance)
    values["LOG_FORMAT"] = values["LOG_FORMAT"] or ("json" if values["ENV"] == "production" else "text")
    values["PUBLIC_URL"] = values["PUBLIC_URL"].rstrip("/")
    if not values["ENCRYPTION_KEYS"] and values["ENV"] != "production":
        values["ENCRYPTION_KEYS"] = derived_key(values["SECRET_KEY"])


def _development_secret(instance: Path) -> str:
    """A random key kept in the instance folder, so that development sessions survive a restart."""
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


_REQUIRED_WITH = {
    ("SMS_BACKEND", "twilio"): ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM"),
    ("MAIL_BACKEND", "smtp"): ("SMTP_HOST",),
}


PASSWORD_CLASSES = ("lower", "upper", "digit", "symbol")


def _check_policy(values: dict) -> None:
    classes = [c.strip() for c in values["PASSWORD_CLASSES"].split(",") if c.strip()]
    unknown = [c for c in classes if c not in PASSWORD_CLASSES]
    if unknown:
        raise ConfigError(
            f"{PREFIX}PASSWORD_CLASSES: {', '.join(unknown)} not among {', '.join(PASSWORD_CLASSES)}"
        )
    if not 8 <= values["PASSWORD_MIN_LENGTH"] <= values["PASSWORD_MAX_LENGTH"] <= 128:
        raise ConfigError(
            f"{PREFIX}PASSWORD_MIN_LENGTH / {PREFIX}PASSWORD_MAX_LENGTH: need 8 <= min <= max <= 128"
        )
    if values["OUTBOX_RETENTION_DAYS"] < 1:
        raise ConfigError(f"{PREFIX}OUTBOX_RETENTION_DAYS: at least 1 day")
    if values["CHAT_OPENS"] >= values["CHAT_CLOSES"]:
        raise ConfigError(f"{PREFIX}CHAT_OPENS / {PREFIX}CHAT_CLOSES: the chat must open before it closes")
    if (
        values["CHAT_RETENTION_DAYS"] < 1
        or values["CHAT_ANSWER_HOURS"] < 1
        or values["CHAT_LIVE_WAIT_MINUTES"] < 1
        or values["CHAT_WAIT_SECONDS"] < 1
    ):
        raise ConfigError(
            f"{PREFIX}CHAT_RETENTION_DAYS / {PREFIX}CHAT_ANSWER_HOURS / "
            f"{PREFIX}CHAT_LIVE_WAIT_MINUTES / {PREFIX}CHAT_WAIT_SECONDS: at least 1"
        )


def _check_required(values: dict) -> None:
    if not values["SECRET_KEY"]:
        raise ConfigError(f"{PREFIX}SECRET_KEY: required when {PREFIX}ENV=production")
    for (name, choice), required in _REQUIRED_WITH.items():
        if values[name] != choice:
            continue
        for needed in required:
            if not values[needed]:
                raise ConfigError(f"{PREFIX}{needed}: required when {PREFIX}{name}={choice}")
    if values["BROKER_URL"] and not values["BROKER_URL"].startswith(
        ("redis://", "rediss://", "amqp://", "amqps://")
    ):
        raise ConfigError(f"{PREFIX}BROKER_URL: expected empty, redis://… or amqp://…")
    if values["PUBLIC_URL"] and not values["PUBLIC_URL"].startswith(("https://", "http://")):
        raise ConfigError(f"{PREFIX}PUBLIC_URL: expected https://host (or http:// in development)")
    if values["PROXY_HOPS"] < 0:
        raise ConfigError(f"{PREFIX}PROXY_HOPS: expected 0 or more")
    if values["MAX_CONTENT_LENGTH"] < 1024:
        raise ConfigError(f"{PREFIX}MAX_CONTENT_LENGTH: expected at least 1024 bytes")


#: Marks every value of ``config/production.env.example`` that must be replaced; production refuses it.
PLACEHOLDER = "CHANGE-ME"

#: Secret keys that have appeared in this repository's examples and tests: known to everyone, so refused.
EXAMPLE_SECRET_KEYS = frozenset({"change-me-to-64-random-hex-characters", "test-secret"})

#: 32 random bytes are 43 characters of URL-safe base64 (64 of hex).
MIN_SECRET_KEY_LENGTH = 43


def _check_production(values: dict) -> None:
    """Refuse, naming the setting, every development convenience that would be unsafe in production."""
    for setting in SETTINGS:
        if PLACEHOLDER.lower() in str(values[setting.name]).lower():
            raise ConfigError(f"{PREFIX}{setting.name}: still the example's {PLACEHOLDER} placeholder")
    key = values["SECRET_KEY"]
    if key in EXAMPLE_SECRET_KEYS:
        raise ConfigError(f"{PREFIX}SECRET_KEY: a documented example key; generate your own")
    if len(key) < MIN_SECRET_KEY_LENGTH or len(set(key)) < 12:
        raise ConfigError(
            f"{PREFIX}SECRET_KEY: needs 32 random bytes, e.g. "
            '`python3 -c "import secrets; print(secrets.token_urlsafe(32))"`'
        )
    refusals = {
        "DATABASE_URL": (
            not values["DATABASE_URL"].startswith("postgresql"),
            "PostgreSQL is required in production (postgresql+psycopg://…)",
        ),
        "SMS_BACKEND": (values["SMS_BACKEND"] != "twilio", "must be twilio in production"),
        "MAIL_BACKEND": (values["MAIL_BACKEND"] != "smtp", "must be smtp in production"),
        "RATELIMIT_STORAGE_URL": (
            values["RATELIMIT_STORAGE_URL"].startswith("memory://"),
            "memory:// counts per process; use redis://… in production",
        ),
        "SESSION_COOKIE_SECURE": (not values["SESSION_COOKIE_SECURE"], "must be true in production"),
        "BROKER_URL": (not values["BROKER_URL"], "required in production (redis://… or amqp://…)"),
        "PUBLIC_URL": (
            not values["PUBLIC_URL"].startswith("https://"),
            "required in production, an https:// address",
        ),
    }
    for name, (refused, why) in refusals.items():
        if refused:
            raise ConfigError(f"{PREFIX}{name}: {why}")


#: The key shown in docs/security.md: an example, never a production key.
EXAMPLE_ENCRYPTION_KEY = "f2UAnP0r3AuPaJ_D4ZOoZVG4-bMm0G3qI39wY6t0pnY="


def _check_encryption_keys(values: dict) -> None:
    name = f"{PREFIX}ENCRYPTION_KEYS"
    if not values["ENCRYPTION_KEYS"]:
        raise ConfigError(f"{name}: required when {PREFIX}ENV=production")
    try:
        Keyring.parse(values["ENCRYPTION_KEYS"])
    except ValueError as exc:
        raise ConfigError(f"{name}: {exc}") from None
    if values["ENV"] == "production" and EXAMPLE_ENCRYPTION_KEY in values["ENCRYPTION_KEYS"]:
        raise ConfigError(f"{name}: the documented example key is not a secret; generate your own")
