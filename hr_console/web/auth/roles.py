"""Role checks, server side, on every route. A view names the roles that may use it; the
console shows links by the same table, so a user never sees a door they cannot open."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import abort
from flask_login import UserMixin, current_user, login_required

ADMIN, HR, SUPERVISOR, AUDITOR = "admin", "hr", "supervisor", "auditor"
ALL = (ADMIN, HR, SUPERVISOR, AUDITOR)


@dataclass
class ConsoleIdentity(UserMixin):
    """What flask-login keeps of a console user for one request (reloaded every request,
    so a deactivation or a role change takes effect at once)."""

    id: int
    username: str
    role: str
    language: str
    employee_id: int | None
    session_token: str = ""

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    def has(self, *roles: str) -> bool:
        return self.role in roles


def roles_required(*roles: str) -> Callable:
    def decorate(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        wrapped.allowed_roles = roles  # type: ignore[attr-defined]
        return wrapped

    return decorate
