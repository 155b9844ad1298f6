"""The database schema: SQLAlchemy 2.0 typed models.

The database is the source of truth for every message's life (docs/architecture.md,
decision 2): the relay and the console read and write here, and the broker only carries.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    event,
    false,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from hr_console.domain.partitions import partition_of
from relais_wire.names import fold


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def search_key(text: str | None) -> str:
    """What a name is searched by (``relais_wire.names.fold``: 'Élodie' finds 'elodie',
    'Lætitia' 'laetitia'); a change there needs a migration that folds stored names again."""
    return fold(text)


def _search_default(context) -> str:  # noqa: ANN001 - SQLAlchemy's execution context
    return search_key(context.get_current_parameters().get("name"))


class Base(DeclarativeBase):
    pass


class Site(Base):
    __tablename__ = "sites"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    # The zone its shifts are read in (services.shifts); None: the installation's timezone.
    timezone: Mapped[str | None] = mapped_column(String(64))


class Team(Base):
    __tablename__ = "teams"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    supervisor_id: Mapped[int | None] = mapped_column(
        ForeignKey("employees.id", use_alter=True, name="fk_team_supervisor"), index=True)
    moderation_mode: Mapped[str | None] = mapped_column(String(8))
    site: Mapped[Site] = relationship()
    __table_args__ = (UniqueConstraint("site_id", "name"),)


class Employee(Base):
    __tablename__ = "employees"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), index=True)
    # ``search_key(name)``: a substring search scans this column in the database instead
    # of folding every name in Python at each request. Set on INSERT (ORM or Core, from the
    # row's name) and on every ORM update; a Core UPDATE of ``name`` must set it too.
    search_name: Mapped[str] = mapped_column(Text, default=_search_default,
                                             server_default="")
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    badge_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    pin_hash: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(5), default="fr")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_hr_desk: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    moderation_mode: Mapped[str | None] = mapped_column(String(8))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    team: Mapped[Team | None] = relationship(foreign_keys=[team_id])
    __table_args__ = (Index("ix_employees_active_name", "active", "name"),
                      # A workgroup's live members are the active members of its teams:
                      # read from the index alone (services.groups).
                      Index("ix_employees_team_active", "team_id", "active"))


@event.listens_for(Employee, "before_insert")
@event.listens_for(Employee, "before_update")
def _keep_search_name(_mapper, _conn, target: Employee) -> None:  # noqa: ANN001
    target.search_name = search_key(target.name)


class Shift(Base):
    __tablename__ = "shifts"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    # Indexed: a sender's shifts are read by their team at badge-in and in relay batches.
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    days: Mapped[str] = mapped_column(String(40), default="mon,tue,wed,thu,fri")
    start_time: Mapped[dt.time] = mapped_column()
    end_time: Mapped[dt.time] = mapped_column()


def _partition_default(context) -> int:  # noqa: ANN001 - SQLAlchemy's execution context
    return partition_of(context.get_current_parameters()["name"])


class Terminal(Base):
    __tablename__ = "terminals"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(32), unique=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    password_hash: Mapped[str | None] = mapped_column(String(200))  # Mosquitto $7$ format
    enrol_code_hash: Mapped[str | None] = mapped_column(String(64))
    enrol_expires: Mapped[dt.datetime | None] = mapped_column(DateTime)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    online: Mapped[bool] = mapped_column(Boolean, default=False)
    last_seen: Mapped[dt.datetime | None] = mapped_column(DateTime)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    # Set when the terminal kept guessing badges or PINs: no badge-in until HR resumes it.
    logins_suspended_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # Which relay's lease covers it (domain.partitions): derived from the name at insert.
    partition: Mapped[int] = mapped_column(Integer, index=True, default=_partition_default)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    site: Mapped[Site | None] = relationship()


class BadgeSession(Base):
    """One employee at one terminal, from badge-in to logout."""

    __tablename__ = "badge_sessions"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"), index=True)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime, index=True)
    end_reason: Mapped[str | None] = mapped_column(String(20))
    # The last uplink or kiosk API call made for it: the server-side idle limit.
    last_active_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # After the end, what the terminal may still deliver for it (sessions.author): outbox items
    # with a seq at most ``closed_seq`` (the last seq the kiosk gave out, from its logout) and
    # never far past ``end_mark`` (the terminal's seq mark when the session ended).
    # The terminal's outbox mark when the session began (what its login declared, else the
    # relay's): none of the session's own items can have a seq at or below it.
    start_mark: Mapped[int | None] = mapped_column(BigInteger)
    end_mark: Mapped[int | None] = mapped_column(BigInteger)
    closed_seq: Mapped[int | None] = mapped_column(BigInteger)
    # ``closed_seq`` came after the server had ended the session (a logout answering the
    # relay's, a later badge-in): the terminal's word alone, which narrows what may still
    # arrive but vouches for none of it (services.sessions.author, needs_review).
    closed_late: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Ended by the server (console, expiry): the relay still owes the terminal its logout.
    notify_end: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The id of the login uplink that opened it: the kiosk sends a login again until it has
    # an answer (one lost in a relay hand-over or a broker restart), and the same id gets
    # the same session back instead of a second one (sessions.replayed_login).
    login_ref: Mapped[str | None] = mapped_column(String(36))
    employee: Mapped[Employee] = relationship()
    terminal: Mapped[Terminal] = relationship()
    __table_args__ = (
        # The open sessions, by employee: someone's (every claim of a downlink asks, once per
        # row), or all of them (a row per terminal in use), never the history. With the
        # employee alone, or the end alone, the planner may walk every open session per row
        # (after ANALYZE, SQLite takes "ended_at IS NULL" for one row) or a person's history.
        Index("ix_badge_sessions_open", "employee_id", sqlite_where=text("ended_at IS NULL"),
              postgresql_where=text("ended_at IS NULL")),
        # The logouts owed, looked for every quarter second: only those rows, never the
        # session history (which grows by the thousand a day). Queried as ``NOTIFY_END``.
        Index("ix_badge_sessions_notify_end", "notify_end",
              sqlite_where=text("notify_end = 1"), postgresql_where=text("notify_end = true")),
    )


# The condition the partial index above answers (``notify_end IS 1``, SQLAlchemy's
# ``is_(True)`` on SQLite, cannot use it).
NOTIFY_END = BadgeSession.notify_end == true()


class ConsoleUser(Base):
    __tablename__ = "console_users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(12))  # admin | hr | supervisor | auditor
    language: Mapped[str] = mapped_column(String(5), default="fr")
    employee_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # Carried in the session cookie; moved on at sign-out so a copied cookie dies with it.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ContactRule(Base):
    """A directional permission: senders matching (sender_kind, sender_ref) may write to
    recipients matching (recipient_kind, recipient_ref); ``allow_reply`` lets them answer."""

    __tablename__ = "contact_rules"
    # A badge-in and a relay batch read only the rules about given people and teams.
    __table_args__ = (Index("ix_contact_rules_sender", "sender_kind", "sender_ref"),
                      Index("ix_contact_rules_recipient", "recipient_kind", "recipient_ref"))
    id: Mapped[int] = mapped_column(primary_key=True)
    sender_kind: Mapped[str] = mapped_column(String(12))  # person | team | everyone
    sender_ref: Mapped[int | None] = mapped_column(Integer)
    recipient_kind: Mapped[str] = mapped_column(String(12))  # person | team | supervisor | hr_desk
    recipient_ref: Mapped[int | None] = mapped_column(Integer)
    allow_reply: Mapped[bool] = mapped_column(Boolean, default=True)
    # Grants only while the sender is on one of their team's shifts (plus the grace period).
    on_shift_only: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Media(Base):
    __tablename__ = "media"
    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    mime: Mapped[str] = mapped_column(String(40))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Group(Base):
    """A workgroup: a conversation whose members are worked out live from its rules and
    hand-picked people (services.groups), so moving team changes membership with no click.
    The name is unique among groups not deleted (checked by the service)."""

    __tablename__ = "groups"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    description: Mapped[str] = mapped_column(Text, default="")
    # NULL: every site; else rule-based membership counts only employees whose team is there.
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    post_right: Mapped[str] = mapped_column(String(8), default="everyone")  # everyone | leads
    # With 'leads': members may still post a reply (a post carrying reply_to).
    members_reply: Mapped[bool] = mapped_column(Boolean, default=False)
    # NULL: the sender's usual 1:1 mode; else pre | post | none for every post of the group.
    moderation_mode: Mapped[str | None] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(10), default="open")  # open | archived | deleted
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    archived_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(80), default="")
    site: Mapped[Site | None] = relationship()


class GroupRule(Base):
    """One membership rule: the members of a team, of a site, of a shift's team, everyone."""

    __tablename__ = "group_rules"
    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"),
                                          index=True)
    kind: Mapped[str] = mapped_column(String(10))  # team | site | shift | everyone
    ref_id: Mapped[int | None] = mapped_column(Integer)  # NULL for everyone
    # groups_of(employee) looks rules up by what matches the person.
    __table_args__ = (Index("ix_group_rules_kind_ref", "kind", "ref_id"),)


class GroupPerson(Base):
    """A hand-picked member, whatever their team."""

    __tablename__ = "group_people"
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"),
                                          primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), primary_key=True,
                                             index=True)


class Message(Base):
    __tablename__ = "messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(36))
    sender_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    # NULL exactly for a group post: its recipients are its group_receipts rows.
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"))
    terminal_id: Mapped[int | None] = mapped_column(ForeignKey("terminals.id"))
    kind: Mapped[str] = mapped_column(String(10))  # text | photo | drawing | voice
    body: Mapped[str] = mapped_column(Text, default="")
    drawing: Mapped[dict | None] = mapped_column(JSON)
    media_id: Mapped[int | None] = mapped_column(ForeignKey("media.id"))
    state: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str | None] = mapped_column(String(300))
    moderation: Mapped[str] = mapped_column(String(8), default="none")
    keyword_hits: Mapped[list | None] = mapped_column(JSON)
    reviewed: Mapped[bool] = mapped_column(Boolean, default=False)
    sent_ts: Mapped[int] = mapped_column(BigInteger, default=0)  # the kiosk's clock, ms
    seq: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    read_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # A post to a workgroup (recipient_id is then NULL), the client id of the post it answers,
    # and whether a lead or HR marked it urgent (shown first at badge-in).
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"), index=True)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    reply_to: Mapped[str | None] = mapped_column(String(36))
    duration_ms: Mapped[int | None] = mapped_column(Integer)  # a voice message's length
    sender: Mapped[Employee] = relationship(foreign_keys=[sender_id])
    recipient: Mapped[Employee | None] = relationship(foreign_keys=[recipient_id])
    __table_args__ = (
        UniqueConstraint("sender_id", "client_id", name="uq_message_sender_client_id"),
        Index("ix_messages_recipient_state", "recipient_id", "state"),
        # The held queue: its count, its oldest and its pages, without walking the time
        # index from the oldest message (the state index alone lets SQLite choose that).
        Index("ix_messages_state_created", "state", "created_at"),
        Index("ix_messages_sender_created", "sender_id", "created_at"),
        # A late outbox item for an ended session must not reuse a seq its terminal already
        # spent (sessions.author).
        Index("ix_messages_terminal_seq", "terminal_id", "seq"),
        # A photo or clip still used by some message (the retention purge asks per batch).
        Index("ix_messages_media", "media_id", sqlite_where=text("media_id IS NOT NULL"),
              postgresql_where=text("media_id IS NOT NULL")),
    )


class GroupReceipt(Base):
    """One member's copy of a group post, written when the post is fanned out: the snapshot
    of who receives it, and "seen by N of M" (rows with read_at / all rows)."""

    __tablename__ = "group_receipts"
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"),
                                            primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), primary_key=True,
                                             index=True)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    read_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class Downlink(Base):
    """Something the relay owes an employee's terminal, re-sent until the terminal confirms.

    The envelope id is ``id``; ``payload`` is the envelope without ``sid``, which is added
    at send time for the session then active (docs/architecture.md, decision 7)."""

    __tablename__ = "downlinks"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    kind: Mapped[str] = mapped_column(String(10))
    ref: Mapped[str | None] = mapped_column(String(36))  # the message / notice it is about
    # For a message's copy: its sender, since ``ref`` (the sender's client id) is only
    # unique per sender.
    sender_id: Mapped[int | None] = mapped_column(Integer)
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # One entry per row on PostgreSQL, never a posting list: see migration 0017.
    __table_args__ = (Index("ix_downlinks_pending", "employee_id", "confirmed_at",
                            postgresql_with={"deduplicate_items": "off"}),
                      # a notice's or a message's copies, without reading every row
                      Index("ix_downlinks_kind_ref", "kind", "ref"))


class Notice(Base):
    __tablename__ = "notices"
    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True)
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text, default="")
    media_id: Mapped[int | None] = mapped_column(ForeignKey("media.id"))
    target_kind: Mapped[str] = mapped_column(String(10))  # everyone | team | site | shift
    target_ref: Mapped[int | None] = mapped_column(Integer)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    ack_required: Mapped[bool] = mapped_column(Boolean, default=False)
    valid_from: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    valid_until: Mapped[dt.datetime | None] = mapped_column(DateTime)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("console_users.id"))
    # A team lead's broadcast from a terminal (created_by is then None).
    author_employee_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"),
                                                           index=True)
    # Minutes between reminders while a person who has not acknowledged is badged in;
    # None: reminded at badge-in only.
    remind_every_min: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # The relay's reminder round reads only the notices with an interval (services.reminders).
    __table_args__ = (Index("ix_notices_reminding", "valid_until",
                            sqlite_where=text("remind_every_min IS NOT NULL"),
                            postgresql_where=text("remind_every_min IS NOT NULL")),)


class NoticeReceipt(Base):
    __tablename__ = "notice_receipts"
    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"), index=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    seen_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    reminders: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_reminded_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    __table_args__ = (UniqueConstraint("notice_id", "employee_id"),)


class ModerationDecision(Base):
    __tablename__ = "moderation_decisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("console_users.id"))
    decision: Mapped[str] = mapped_column(String(10))  # approve | reject | retract
    reason: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)


class AuditEntry(Base):
    """Append-only; each entry's hash covers the previous one of its chain, so edits are
    detectable. ``chain`` is ``main`` (the console's and everyone's) or one terminal's
    (``terminal:ID``, what the relays audit for it): a relay appends to its terminals' chains
    only, so two relays never wait on one head (services.audit). ``pos`` counts from 1 in each
    chain; ``id`` orders the whole log."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_chain_pos", "chain", "pos", unique=True),)
    id: Mapped[int] = mapped_column(primary_key=True)
    chain: Mapped[str] = mapped_column(String(40), default="main", server_default="main")
    pos: Mapped[int] = mapped_column(Integer)
    ts: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(60), index=True)
    target: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[dict | None] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """Where each audit chain ends (entries, last entry's id and hash), written in the same
    transaction as each entry: a chain whose last entries were cut is still a valid chain, its
    head says it is short. The row is also the lock that serialises one chain's appends."""

    __tablename__ = "audit_heads"
    chain: Mapped[str] = mapped_column(String(40), primary_key=True)
    entries: Mapped[int] = mapped_column(Integer)
    last_id: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
    sealed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # in main


class Throttle(Base):
    """Failed attempts under one key (a terminal's badge-ins, a console sign-in name and
    address): how many, and until when the next attempt must wait. Keys never hold what
    was typed (a username is hashed into the key)."""

    __tablename__ = "throttles"
    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    failures: Mapped[float] = mapped_column(Float, default=0.0)  # a leaky count (domain.throttle)
    last_failure_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    wait_until: Mapped[dt.datetime | None] = mapped_column(DateTime)


class RelayLease(Base):
    """One partition of terminals and the relay that owns it until ``expires_at``. The owner
    renews it while alive; once expired any relay may take it. ``epoch`` grows at every
    change of owner, so a relay can tell that what it held was taken meanwhile."""

    __tablename__ = "relay_leases"
    partition: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    owner: Mapped[str | None] = mapped_column(String(80))
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    epoch: Mapped[int] = mapped_column(BigInteger, default=0)


class RelayMember(Base):
    """A live relay process, heartbeating: the others count them to know their fair share."""

    __tablename__ = "relay_members"
    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    seen_at: Mapped[dt.datetime] = mapped_column(DateTime)


class Setting(Base):
    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[dict | list | str | int | bool | None] = mapped_column(JSON)


class PolicyEpoch(Base):
    """One row (id 1), raised by the database's triggers in every transaction that changes
    people, teams, contact rules or settings as the relay reads them (migration 0019): the
    relay keeps what it read of those from one batch to the next while it stays the same
    (``services.remembered``). Created by the first change; no row reads as 0."""

    __tablename__ = "policy_epoch"
    id: Mapped[int] = mapped_column(primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)


class SafetyAlert(Base):
    """A safety alert raised at a terminal (services.safety): past moderation and contact
    rules, sent at once as an urgent notice; open until HR or a supervisor marks it handled.
    ``client_id`` is the uplink's id, unique per terminal, so a resend stores nothing twice."""

    __tablename__ = "safety_alerts"
    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True)  # the notice downlinks' ref
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"))
    client_id: Mapped[str] = mapped_column(String(36))
    employee_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"))  # None: idle
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    pictogram: Mapped[str] = mapped_column(String(10))
    text: Mapped[str] = mapped_column(String(200), default="")
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    raised_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    handled_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    handled_by: Mapped[int | None] = mapped_column(ForeignKey("console_users.id"))
    # The optional photo of the danger (normalised as every photo), and the employee ids it
    # was sent to: only they (and the console's safety area) may fetch that photo.
    media_id: Mapped[int | None] = mapped_column(ForeignKey("media.id"))
    recipient_ids: Mapped[list | None] = mapped_column(JSON)
    __table_args__ = (UniqueConstraint("terminal_id", "client_id"),
                      # The dashboard's open alerts, newest first.
                      Index("ix_safety_alerts_open", "handled_at", "raised_at"),
                      # the relay's budget of alerts in nobody's name (migration 0015)
                      Index("ix_safety_alerts_terminal_raised", "terminal_id", "raised_at"))


class LegalHold(Base):
    """A hold HR or an auditor placed for a dispute (services.legal_holds): the retention
    purge keeps what it covers until it is released. ``kind`` 'person' covers every
    message ``employee_id`` sent or received; 'conversation' the 1:1 messages between
    ``employee_id`` and ``other_employee_id`` (smaller id first). A released hold is kept
    as the record of what was kept, by whom and why."""

    __tablename__ = "legal_holds"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))  # person | conversation
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    other_employee_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"))
    reason: Mapped[str] = mapped_column(String(300))
    placed_by: Mapped[str] = mapped_column(String(80))
    placed_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    released_by: Mapped[str | None] = mapped_column(String(80))
    released_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    release_reason: Mapped[str | None] = mapped_column(String(300))
    __table_args__ = (Index("ix_legal_holds_employee", "employee_id", "released_at"),
                      Index("ix_legal_holds_other", "other_employee_id"))


class CharterVersion(Base):
    """One published version of the messaging charter (services.charter): its four sections
    in French and English, ``{"fr": {"purpose": ..., ...}, "en": {...}}``. Never edited
    once published: a change is a new version, which every worker accepts again."""

    __tablename__ = "charter_versions"
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    texts: Mapped[dict] = mapped_column(JSON)
    published_by: Mapped[str] = mapped_column(String(80))
    published_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class CharterAcceptance(Base):
    """A worker accepted one version of the charter, at a terminal, at a time: one row per
    person and version (the kiosk's outbox may send the acceptance twice)."""

    __tablename__ = "charter_acceptances"
    id: Mapped[int] = mapped_column(primary_key=True)
    charter_id: Mapped[int] = mapped_column(ForeignKey("charter_versions.id"))
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    terminal: Mapped[str] = mapped_column(String(64))
    accepted_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    __table_args__ = (UniqueConstraint("employee_id", "charter_id",
                                       name="uq_charter_acceptance"),
                      Index("ix_charter_acceptances_charter", "charter_id", "accepted_at"))
