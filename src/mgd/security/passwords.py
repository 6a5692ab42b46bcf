"""Password hashing (argon2id) and temporary passwords."""

from __future__ import annotations

import re
import secrets
import string
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP's minimum for argon2id: 19 MiB of memory, 2 iterations, 1 lane.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)

_ALPHABET = string.ascii_letters + string.digits
_CLASSES = (string.ascii_lowercase, string.ascii_uppercase, string.digits)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def temporary_password(length: int = 12) -> str:
    """A random password with a lower-case letter, an upper-case letter and a digit (the default policy)."""
    while True:
        candidate = "".join(secrets.choice(_ALPHABET) for _ in range(length))
        if all(any(ch in chars for ch in candidate) for chars in _CLASSES):
            return candidate


_COMMON = frozenset(
    line.strip()
    for line in (Path(__file__).with_name("common_passwords.txt")).read_text(encoding="utf-8").splitlines()
    if line.strip() and not line.startswith("#")
)
_TRAILING = re.compile(r"[\d\W_]+$")
_CLASS_TESTS = {
    "lower": lambda ch: ch.islower(),
    "upper": lambda ch: ch.isupper(),
    "digit": lambda ch: ch.isdigit(),
    "symbol": lambda ch: not ch.isalnum(),
}


def _fold(text: str) -> str:
    """Lower case without accents, so that "Lucía" and "lucia" compare alike."""
    return "".join(ch for ch in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(ch))


@dataclass(frozen=True)
class Policy:
    """The operator's password rules; settings can raise them."""

    min_length: int = 8
    max_length: int = 20
    classes: tuple[str, ...] = ("lower", "upper", "digit")

    @classmethod
    def from_config(cls, config) -> Policy:
        classes = tuple(c.strip() for c in config["PASSWORD_CLASSES"].split(",") if c.strip())
        return cls(config["PASSWORD_MIN_LENGTH"], config["PASSWORD_MAX_LENGTH"], classes)

    def problems(self, password: str, *, email: str, name: str) -> list[str]:
        """What is wrong with ``password`` for this person: rule names, empty when it is acceptable."""
        problems = []
        if not self.min_length <= len(password) <= self.max_length:
            problems.append("length")
        problems += [c for c in self.classes if not any(_CLASS_TESTS[c](ch) for ch in password)]
        lowered = password.lower()
        local = _fold(email.split("@", maxsplit=1)[0])
        personal = {local, *re.split(r"[._+\-]", local), *_fold(name).split()}
        if any(len(item) > 3 and item in _fold(password) for item in personal):
            problems.append("personal")
        if lowered in _COMMON or _TRAILING.sub("", lowered) in _COMMON:
            problems.append("common")
        return problems


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than the current ones."""
    return _hasher.check_needs_rehash(password_hash)
