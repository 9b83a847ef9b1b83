"""Staff accounts."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from central.db import Base, UtcDateTime


class Role(StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    CLERK = "clerk"
    INTERPRETER = "interpreter"


ROLE_LABELS: dict[Role, str] = {
    Role.ADMIN: "系统管理员",
    Role.MANAGER: "大厅主管",
    Role.CLERK: "窗口人员",
    Role.INTERPRETER: "手语翻译",
}


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    # The real name shown on reports and pages (张伟); the username is pinyin.
    display_name: Mapped[str | None] = mapped_column(String(32), default=None)
    active: Mapped[bool] = mapped_column(default=True)
    # Set for one-time passwords from `create_admin` / `reset_password`.
    must_change_password: Mapped[bool] = mapped_column(default=False)
    # Bumped on every password change: sessions signed for an older epoch stop
    # working, so a reset password also logs out a stolen session.
    auth_epoch: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)

    @property
    def role_enum(self) -> Role:
        return Role(self.role)
