"""Secrets at rest: Fernet encryption under the keys of ``MGD_ENCRYPTION_KEYS`` (the first encrypts, every one
decrypts, so keys can rotate) and ``EncryptedText``, a column type that stores only ciphertext."""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import Flask, current_app
from sqlalchemy import Column, MetaData, Text, select, type_coerce, update
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator


class SecretUnreadable(RuntimeError):
    """A stored value decrypts with none of the configured keys: a wrong or missing key, or plain text."""


@dataclass(frozen=True)
class Keyring:
    """The configured keys: ``first`` encrypts, ``every`` decrypts."""

    first: Fernet
    every: MultiFernet

    @classmethod
    def parse(cls, raw: str) -> Keyring:
        """Comma-separated Fernet keys (32 bytes, URL-safe base64). Raises ``ValueError`` naming a bad one."""
        fernets = []
        for position, key in enumerate((k.strip() for k in raw.split(",") if k.strip()), 1):
            try:
                fernets.append(Fernet(key))
            except (ValueError, binascii.Error):
                raise ValueError(f"key {position} is not a Fernet key (32 bytes, URL-safe base64)") from None
        if not fernets:
            raise ValueError("no key given")
        return cls(fernets[0], MultiFernet(fernets))

    def encrypt(self, value: str) -> str:
        return self.first.encrypt(value.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self.every.decrypt(token.encode()).decode()
        except InvalidToken:
            raise SecretUnreadable(
                "a stored secret decrypts with none of MGD_ENCRYPTION_KEYS (wrong key, a removed old key, "
                "or a value that was never encrypted): see docs/security.md"
            ) from None

    def is_current(self, token: str) -> bool:
        """Whether ``token`` is already encrypted under the first key (rotation skips it)."""
        try:
            self.first.decrypt(token.encode())
        except InvalidToken:
            return False
        return True

    def rotate(self, token: str) -> str:
        """``token`` encrypted again under the first key. Raises ``SecretUnreadable`` like ``decrypt``."""
        return self.encrypt(self.decrypt(token))


def derived_key(secret_key: str) -> str:
    """A development key derived from the secret key, so that ``make run`` needs no setting."""
    digest = hashlib.sha256(b"mgd.encryption-key:" + secret_key.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


def new_key() -> str:
    return Fernet.generate_key().decode()


def init_app(app: Flask) -> None:
    app.extensions["mgd.keyring"] = Keyring.parse(app.config["ENCRYPTION_KEYS"])


def keyring() -> Keyring:
    return current_app.extensions["mgd.keyring"]


class EncryptedText(TypeDecorator):
    """Text encrypted with the app's keys on the way in, decrypted on the way out. ``None`` and the empty
    string are kept as they are (a purged body is empty, and says nothing)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect) -> str | None:
        return keyring().encrypt(value) if value else value

    def process_result_value(self, value: str | None, dialect) -> str | None:
        return keyring().decrypt(value) if value else value


def encrypted_columns(metadata: MetaData) -> list[Column]:
    """Every column of ``metadata`` stored with ``EncryptedText`` (what key rotation rewrites)."""
    return [
        column
        for table in metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, EncryptedText)
    ]


def rotate_batch(
    session: Session, column: Column, keys: Keyring, after: int, limit: int = 500
) -> tuple[int | None, int]:
    """Encrypt again under the first key the values of ``column`` in the next ``limit`` rows whose id is past
    ``after``; values already under it are left alone, so a second run changes nothing. Returns the id to go
    on from (None at the end) and how many values changed. Raises ``SecretUnreadable`` for a value no
    configured key opens."""
    table, raw = column.table, type_coerce(column, Text)
    rows = session.execute(
        select(table.c.id, raw)
        .where(table.c.id > after, raw.is_not(None), raw != "")
        .order_by(table.c.id)
        .limit(limit)
    ).all()
    changed = 0
    for row_id, token in rows:
        if keys.is_current(token):
            continue
        # Only if the value is still the one read: a body purged meanwhile must not come back.
        result = session.execute(
            update(table)
            .where(table.c.id == row_id, raw == token)
            .values({column.name: type_coerce(keys.rotate(token), Text)})
        )
        changed += result.rowcount
    session.flush()
    return (rows[-1][0] if len(rows) == limit else None), changed
