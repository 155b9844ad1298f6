"""The console's menu: one entry per area, shown to the roles its view allows."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_babel import lazy_gettext as _l

NAV = [
    ("dashboard.index", _l("Dashboard")),
    ("moderation.index", _l("Moderation")),
    ("employees.index", _l("Employees")),
    ("teams.index", _l("Teams and sites")),
    ("contacts.index", _l("Contacts")),
    ("groups.index", _l("Workgroups")),
    ("notices.index", _l("Notices")),
    ("safety.index", _l("Safety alerts")),
    ("terminals.index", _l("Terminals")),
    ("users.index", _l("Console users")),
    ("audit.index", _l("Audit log")),
    ("council.index", _l("Works council report")),
    ("holds.index", _l("Legal holds")),
    ("charter.index", _l("Charter")),
    ("settings.index", _l("Settings")),
]


def visible_nav(app: Flask, user: Any) -> list[tuple[str, Any]]:
    out = []
    for endpoint, label in NAV:
        view = app.view_functions.get(endpoint)
        if view is None:
            continue
        allowed = getattr(view, "allowed_roles", None)
        if allowed is not None and user.role not in allowed:
            continue
        # A view whose access also depends on data (a setting) says so itself: no menu entry
        # may lead to a "forbidden" page.
        shown = getattr(view, "nav_visible", None)
        if shown is None or shown(user):
            out.append((endpoint, label))
    return out
