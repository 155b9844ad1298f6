"""Demo data: a site named ``demo`` with teams, people with badges, HR desk, rules, two
terminals and the four console logins. Used by ``make run`` and by the tests."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from hr_console.services import directory, settings
from hr_console.store.models import Site

# (name, team key, badge, pin, language)
PEOPLE = [
    ("Sophie Martin", "atelier", "1001", None, "fr"),
    ("Karim Benali", "atelier", "1002", None, "fr"),
    ("Julie Moreau", "atelier", "1003", "4321", "fr"),
    ("Thomas Petit", "logistique", "1004", None, "fr"),
    ("Amina Diallo", "logistique", "1005", None, "en"),
    ("Lucas Bernard", "logistique", "1006", None, "fr"),
]
TERMINALS = ["kiosk-1", "kiosk-2"]


@dataclass
class DemoData:
    password: str
    badges: dict[str, str] = field(default_factory=dict)  # name -> badge
    terminals: dict[str, dict[str, str]] = field(default_factory=dict)  # name -> credentials
    employees: dict[str, int] = field(default_factory=dict)  # name -> id


SITE_NAME = "demo"


def exists(session: Session) -> bool:
    return session.execute(select(Site).where(Site.name == SITE_NAME)).first() is not None


def create(session: Session, pepper: str, password: str | None = None) -> DemoData:
    data = DemoData(password=password or secrets.token_urlsafe(9))
    site = directory.site(session, SITE_NAME)
    teams = {
        "atelier": directory.team(session, "Atelier", site, moderation_mode=None),
        "logistique": directory.team(session, "Logistique", site),
        "rh": directory.team(session, "Ressources humaines", site, moderation_mode="none"),
    }
    hr = directory.employee(session, "Claire Dubois (RH)", pepper=pepper, team_row=teams["rh"],
                            badge="9001", is_hr_desk=True, moderation_mode="none")
    data.badges[hr.name], data.employees[hr.name] = "9001", hr.id
    for name, team_key, badge, pin, lang in PEOPLE:
        row = directory.employee(session, name, pepper=pepper, team_row=teams[team_key],
                                 badge=badge, pin=pin, language=lang)
        data.badges[name], data.employees[name] = badge, row.id
    # Sophie and Thomas lead their teams; their messages need no approval.
    for team_key, lead in (("atelier", "Sophie Martin"), ("logistique", "Thomas Petit")):
        teams[team_key].supervisor_id = data.employees[lead]
        session.get_one(type(hr), data.employees[lead]).moderation_mode = "none"
    for team_key in ("atelier", "logistique"):
        team_id = teams[team_key].id
        directory.contact_rule(session, "team", team_id, "supervisor", None, allow_reply=True)
        directory.contact_rule(session, "team", team_id, "team", team_id, allow_reply=True)
    directory.contact_rule(session, "everyone", None, "hr_desk", None, allow_reply=True)
    settings.put(session, "keywords", ["grève", "syndicat", "insulte"])
    for name in TERMINALS:
        _, creds = directory.terminal(session, name, site)
        data.terminals[name] = creds.as_json()
    for role in directory.ROLES:
        directory.console_user(session, role, data.password, role,
                               employee_row=session.get(type(hr), data.employees["Sophie Martin"])
                               if role == "supervisor" else None)
    return data
