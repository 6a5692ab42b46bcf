"""Secrets at rest: stored as ciphertext, readable with any configured key, rotated to the first one, and a
wrong key is an error that says so, never silent garbage."""

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet
from sqlalchemy import text

from mgd import create_app
from mgd.cli import main
from mgd.config import EXAMPLE_ENCRYPTION_KEY, ConfigError, load_settings
from mgd.crypto import Keyring, SecretUnreadable, new_key
from mgd.db import get_session
from mgd.jobs import bind_actors, broker_of
from mgd.notify.models import OutboxMessage
from mgd.notify.services import queue_sms
from tests.test_config import PRODUCTION

OLD, NEW = new_key(), new_key()
BODY = "Tu código es 482913"


@pytest.fixture
def mgd(app, tmp_path, monkeypatch):
    """`mgd …` and apps on a SQLite database of their own, with the keys given to each call."""
    for name in ("MGD_DATABASE_URL", "MGD_BROKER_URL", "MGD_SMS_BACKEND", "MGD_MAIL_BACKEND"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MGD_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("MGD_DATABASE_URL", f"sqlite:///{tmp_path / 'keys.sqlite3'}")

    def run(*args: str, keys: str):
        monkeypatch.setenv("MGD_ENCRYPTION_KEYS", keys)
        result = CliRunner().invoke(main, list(args))
        return result.exit_code, result.output

    assert run("db", "upgrade", keys=OLD)[0] == 0
    yield run
    bind_actors(broker_of(app))  # each app built here took the actors to its own broker


def app_with(keys: str):
    return create_app({"ENCRYPTION_KEYS": keys})


def add_message(keys: str) -> int:
    with app_with(keys).app_context():
        session = get_session()
        message = queue_sms(session, "+34612000001", BODY)
        session.commit()
        return message.id


def stored(keys: str, message_id: int) -> str:
    with app_with(keys).app_context():
        query = text("SELECT body_text FROM outbox_messages WHERE id = :id")
        return get_session().scalar(query, {"id": message_id})


def read(keys: str, message_id: int) -> str:
    with app_with(keys).app_context():
        return get_session().get(OutboxMessage, message_id).body_text


def test_a_body_is_stored_as_ciphertext_of_the_first_key(mgd):
    message_id = add_message(OLD)
    token = stored(OLD, message_id)
    assert BODY not in token and "482913" not in token
    assert Fernet(OLD).decrypt(token.encode()).decode() == BODY
    assert read(OLD, message_id) == BODY


def test_rotation_re_encrypts_under_the_new_key_and_a_second_run_changes_nothing(mgd):
    message_id = add_message(OLD)
    assert read(f"{NEW},{OLD}", message_id) == BODY  # the old key still decrypts
    code, out = mgd("secrets", "rotate", "--batch", "1", keys=f"{NEW},{OLD}")
    assert code == 0 and "outbox_messages.body_text: 1 re-encrypted" in out, out
    assert Fernet(NEW).decrypt(stored(NEW, message_id).encode()).decode() == BODY
    assert read(NEW, message_id) == BODY  # the old key can go now
    code, out = mgd("secrets", "rotate", keys=f"{NEW},{OLD}")
    assert code == 0 and "outbox_messages.body_text: 0 re-encrypted" in out


def test_a_wrong_key_fails_loudly(mgd):
    message_id = add_message(OLD)
    with pytest.raises(SecretUnreadable, match="MGD_ENCRYPTION_KEYS"):
        read(NEW, message_id)
    code, out = mgd("secrets", "rotate", keys=NEW)
    assert code == 1 and "outbox_messages.body_text: a stored secret decrypts with none of" in out


def test_a_keyring_refuses_a_malformed_key():
    with pytest.raises(ValueError, match="key 2 is not a Fernet key"):
        Keyring.parse(f"{OLD},not-a-key")


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"MGD_ENCRYPTION_KEYS": ""}, "MGD_ENCRYPTION_KEYS: required when MGD_ENV=production"),
        (
            {"MGD_ENCRYPTION_KEYS": f"{NEW},{EXAMPLE_ENCRYPTION_KEY}"},
            "MGD_ENCRYPTION_KEYS: the documented example key is not a secret",
        ),
        ({"MGD_ENCRYPTION_KEYS": "short"}, "key 1 is not a Fernet key"),
    ],
)
def test_production_needs_real_keys(tmp_path, environ, message):
    environ = {**PRODUCTION, "MGD_INSTANCE_PATH": str(tmp_path), **environ}  # safe but for the keys
    with pytest.raises(ConfigError, match=message):
        load_settings(environ=environ)


def test_development_derives_a_key_from_the_secret_key(tmp_path):
    values = load_settings(environ={"MGD_INSTANCE_PATH": str(tmp_path)})
    assert Keyring.parse(values["ENCRYPTION_KEYS"])
    assert load_settings(environ={"MGD_INSTANCE_PATH": str(tmp_path)}) == values
