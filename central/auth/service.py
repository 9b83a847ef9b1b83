"""Accounts: password hashing (argon2id), sign-in, and the first admin.

No default password ships. `create_admin` makes the first admin with a random
one-time password that the CLI prints once; `reset_password` does the same
for an existing account. Both force a change at the next sign-in.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.settings import Settings
from broker.contract import utcnow
from central.auth.models import Role, User
from central.db import database_url, make_engine, make_sessionmaker, upgrade_database

_hasher: Final = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verified against when the user does not exist, so that "no such user"
    and "wrong password" take the same time (made on first use, not at import)."""
    return _hasher.hash(secrets.token_urlsafe(16))


MIN_PASSWORD_LENGTH: Final = 10


class AccountError(ValueError):
    """A refused account change; the message is shown to the person."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def authenticate(session: Session, *, username: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        _verify(_dummy_hash(), password)
        return None
    if not _verify(user.password_hash, password):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        session.commit()
    return user


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def create_user(
    session: Session,
    *,
    username: str,
    role: Role,
    password: str,
    must_change_password: bool = False,
    password_hash: str | None = None,
) -> User:
    """`password_hash`: `hash_password(password)` made beforehand, so that a
    caller creating many users (the hall import) hashes outside its write
    transaction."""
    _check_strength(password)
    # Hashed before the first query: on SQLite a read snapshot held across the
    # slow hash could not become a write once another writer had committed.
    password_hash = password_hash or hash_password(password)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise AccountError(f"user {username!r} already exists")
    user = User(
        username=username,
        password_hash=password_hash,
        role=role.value,
        active=True,
        must_change_password=must_change_password,
        auth_epoch=0,
        created_at=utcnow(),
    )
    session.add(user)
    session.flush()
    return user


def change_password(session: Session, *, user: User, new_password: str) -> None:
    _check_strength(new_password)
    user.password_hash = hash_password(new_password)
    user.must_change_password = False
    user.auth_epoch += 1  # signs out every other session of this user


def _check_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"密码至少需要 {MIN_PASSWORD_LENGTH} 个字符")


def one_time_password() -> str:
    return secrets.token_urlsafe(12)


def create_admin(settings: Settings, username: str) -> str:
    """Create an admin with a random one-time password and return it (`anxin hub create-admin`)."""
    password = one_time_password()
    with _session(settings) as session:
        create_user(
            session,
            username=username,
            role=Role.ADMIN,
            password=password,
            must_change_password=True,
        )
        session.commit()
    return password


def reset_password(settings: Settings, username: str) -> str:
    """Give an existing account a new one-time password and return it."""
    password = one_time_password()
    with _session(settings) as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise AccountError(f"no user {username!r}")
        user.password_hash = hash_password(password)
        user.must_change_password = True
        user.active = True
        user.auth_epoch += 1
        session.commit()
    return password


@contextmanager
def _session(settings: Settings) -> Iterator[Session]:
    """A short-lived engine for CLI commands, on an up-to-date schema."""
    upgrade_database(settings)
    engine = make_engine(database_url(settings))
    try:
        with make_sessionmaker(engine)() as session:
            yield session
    finally:
        engine.dispose()
