"""The append-only audit log, as hash chains. Each entry's hash covers its content, its place
and the previous entry's hash, so changing, deleting or reordering any row breaks the chain
that ``verify`` walks.

A chain alone cannot tell that its last rows were cut off: what is left is still a valid
chain. So every append also updates the chain's head (``audit_heads``: entries, last id and
hash) in the same transaction, and ``verify`` checks the chain ends there. The head row is
also the lock that serialises a chain's appends, held until the appender commits.

One chain for the whole log made that lock one that every writer fought over: a relay's
batch appends when someone accepts the charter or the off-shift notice, types a wrong PIN
or raises an alert, and held the lock until the batch committed, while the other relays'
batches and the console waited (a shift change right after HR published a charter is every
badge-in). So what is audited for a terminal goes to that terminal's own chain
(``terminal_chain``); its head is taken only by the relay that holds the terminal's
partition (and, for a moment, by its login desk). Everything else goes to ``main``. A
chain is registered in ``main`` when it opens (``audit.chain_opened``), so a terminal's
chain deleted whole, head included, is missed by nobody: ``verify`` finds it registered and
gone."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hr_console.store.db import database_key
from hr_console.store.models import AuditEntry, AuditHead, Terminal, utcnow

GENESIS = "0" * 64
MAIN = "main"
OPENED = "audit.chain_opened"  # in main, target the chain's name
REBUILT = "audit.head_rebuilt"  # in main: a chain's head was missing, made again from its end
SEALED = "audit.chains_sealed"  # in main: where terminals' chains had come to (``seal``)
SEAL_AT_MOST = 100  # chains named in one sealing entry (the audit page shows it whole)


def terminal_chain(terminal_id: int) -> str:
    """The chain of what the relays audit for one terminal."""
    return f"terminal:{terminal_id}"


def _digest_of(prev: str, entry_id: int, ts: Any, actor: str, action: str,
               target: str | None, detail: Any, chain: str, pos: int) -> str:
    fields = [prev, entry_id, ts.isoformat(timespec="microseconds"), actor, action, target,
              detail]
    if (chain, pos) != (MAIN, entry_id):  # entries written before chains had neither
        fields += [chain, pos]
    content = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                         default=str)
    return hashlib.sha256(content.encode()).hexdigest()


def _locked_head(session: Session, chain: str, *, wait: bool = True) -> AuditHead | None:
    """``chain``'s head, locked; None if there is none (or, ``wait`` False, if another
    transaction holds it)."""
    stmt = (select(AuditHead).where(AuditHead.chain == chain)
            .execution_options(populate_existing=True))
    if session.get_bind().dialect.name != "sqlite":  # SQLite: BEGIN IMMEDIATE serialises
        stmt = stmt.with_for_update(skip_locked=not wait)
    return session.execute(stmt).scalar_one_or_none()


def _head(session: Session, chain: str, actor: str) -> AuditHead:
    """``chain``'s head, locked, opened first if it has none."""
    return _locked_head(session, chain) or _open(session, chain, actor)


def open_chain(session: Session, chain: str, actor: str) -> None:
    """Open ``chain`` now, registered in main, if it is not yet: when a terminal is created
    (the console holds main's head for that anyway), so that a relay's batch never has to.
    A chain not opened beforehand is opened at a relay's start (``open_terminal_chains``)
    or else at its first entry, and then that one batch holds main's head too."""
    if session.get(AuditHead, chain) is None:
        _open(session, chain, actor)


def open_terminal_chains(session: Session, actor: str) -> int:
    """Open the chain of every terminal that has none (made before chains existed, or by
    ``gen-data``), at a relay's start in a transaction of its own: so no batch of theirs
    holds main's head. Two queries when there is nothing to do. Returns how many opened."""
    def wanting() -> list[str]:
        have = set(session.execute(select(AuditHead.chain)).scalars())
        ids = session.execute(select(Terminal.id).order_by(Terminal.id)).scalars()
        return [c for c in map(terminal_chain, ids) if c not in have]

    if not wanting():
        return 0
    # Main's head first, then a fresh look: another relay starting at once may have opened
    # them while this one waited (on PostgreSQL each read sees what committed before it).
    _head(session, MAIN, actor)
    chains = wanting()
    for chain in chains:
        _open(session, chain, actor)
    return len(chains)


def _open(session: Session, chain: str, actor: str) -> AuditHead:
    """The head of a chain that has none: a new chain (registered in main, unless it is
    main), or one whose head was deleted (it goes on after its last entry; ``verify`` said
    the head was missing until now)."""
    if chain != MAIN:  # main's head first, as ``seal`` takes it, then the new head's key
        _head(session, MAIN, actor)
    last = session.execute(select(AuditEntry.pos, AuditEntry.id, AuditEntry.hash)
                           .where(AuditEntry.chain == chain)
                           .order_by(AuditEntry.pos.desc()).limit(1)).first()
    try:
        with session.begin_nested():  # the terminal's login desk may open it at once
            session.add(AuditHead(chain=chain, entries=last.pos if last else 0,
                                  last_id=last.id if last else 0,
                                  hash=last.hash if last else GENESIS))
    except IntegrityError:
        pass  # opened by the other: take its head below
    else:
        if last is None and chain != MAIN:
            record(session, actor, OPENED, chain)
        elif last is not None:  # said in the log, or a cut tail would pass from now on
            record(session, actor, REBUILT, chain, entries=last.pos, last_id=last.id)
    head = _locked_head(session, chain)
    assert head is not None
    return head


def record(session: Session, actor: str, action: str, target: str | None = None, *,
           chain: str = MAIN, **detail: Any) -> AuditEntry:
    """Append one entry to ``chain`` in the caller's transaction (so it commits with the
    action)."""
    head = _head(session, chain, actor)
    entry = AuditEntry(chain=chain, pos=head.entries + 1, ts=utcnow(), actor=actor,
                       action=action, target=target, detail=detail or None,
                       prev_hash=head.hash, hash="")
    session.add(entry)
    session.flush()  # its id, which the hash covers
    entry.hash = _digest_of(head.hash, entry.id, entry.ts, actor, action, target, entry.detail,
                            chain, entry.pos)
    head.entries, head.last_id, head.hash = entry.pos, entry.id, entry.hash
    session.flush()
    return entry


def unsealed(session: Session) -> bool:
    """Whether a terminal's chain has entries that main has not sealed yet (a cheap read,
    for the relay to skip ``seal`` when there is nothing to do)."""
    return session.execute(select(AuditHead.chain).where(
        AuditHead.chain != MAIN, AuditHead.entries > AuditHead.sealed).limit(1)).first() \
        is not None


def seal(session: Session, actor: str) -> int:
    """Write in main where the terminals' chains that grew have come to (entries and last
    hash), in a transaction of its own (the relay that runs the home's chores, every
    minute). A terminal's chain is its head's only guard: someone who deletes its last
    entries and rewinds its head leaves a valid chain. Main's seal says how far it went,
    so ``verify`` sees the cut; what can still be cut unseen is what came after the last
    seal, as with main's own newest entries. Main's head is taken first, as a chain's
    opening does; the terminals' heads are then taken only if free (a relay's batch holding
    one keeps it; its entries are sealed the next time). Returns how many chains."""
    if _locked_head(session, MAIN, wait=False) is None:
        if session.get(AuditHead, MAIN) is not None:
            return 0  # held (a long console action): the next time, not a wait here
        _open(session, MAIN, actor)
    stmt = (select(AuditHead).where(AuditHead.chain != MAIN,
                                    AuditHead.entries > AuditHead.sealed)
            .order_by(AuditHead.chain).execution_options(populate_existing=True))
    if session.get_bind().dialect.name != "sqlite":
        stmt = stmt.with_for_update(skip_locked=True)
    heads = list(session.execute(stmt).scalars())
    for at in range(0, len(heads), SEAL_AT_MOST):
        part = heads[at:at + SEAL_AT_MOST]
        record(session, actor, SEALED, None, heads={h.chain: [h.entries, h.hash] for h in part})
        for head in part:
            head.sealed = head.entries
    session.flush()
    return len(heads)


@dataclass(frozen=True)
class Verification:
    """``problem`` in English, ``reason`` and ``args`` for a reader's language
    (``describe``). A good one is where a later ``verify(since=...)`` resumes: the entries
    up to ``last_id`` and where each chain ended (``heads``: entries and last hash)."""

    ok: bool
    entries: int
    first_bad_id: int | None = None
    reason: str = ""
    args: dict[str, Any] = field(default_factory=dict)
    last_id: int = 0
    heads: dict[str, tuple[int, str]] = field(default_factory=dict)
    chains: int = 0
    opened: dict[str, int] = field(default_factory=dict)  # chain -> id of its opening
    # chain -> {entries: last hash} of every seal in main, and the id of its newest seal
    sealed: dict[str, dict[int, str]] = field(default_factory=dict)
    sealed_by: dict[str, int] = field(default_factory=dict)
    # entries of the terminals' chains that main has not sealed yet: no anchor covers them
    unsealed: int = 0

    @property
    def problem(self) -> str:
        return self.problem_in(str)

    def problem_in(self, gettext: Callable[[str], str]) -> str:
        """The problem in the reader's language, through the console's or the shell's
        ``gettext``."""
        return gettext(PROBLEMS.get(self.reason, self.reason)).format(**self.args)


def N_(text: str) -> str:  # noqa: N802 - the extractor's marker for a text translated later
    return text


# reason -> the English text (the console and the shell translate it)
PROBLEMS = {
    "missing": N_("entry {n} is missing"),
    "missing_in": N_("entry {n} of {chain} is missing"),
    "broken": N_("chain broken (an entry was deleted or moved)"),
    "altered": N_("content altered"),
    "head_missing": N_("the head of {chain} (its entry count and last hash) is missing"),
    "tail_cut": N_("the last entries of {chain} were deleted (its head counts {want}, the log "
                   "holds {got})"),
    "wrong_end": N_("{chain} does not end where its head says (entry {entry})"),
    "unregistered": N_("{chain} was never opened in the main chain"),
    "gone": N_("{chain} was opened and is gone, head and entries"),
    "sealed_cut": N_("entries of {chain} were deleted (main sealed it at {want} entries, the "
                     "log holds {got})"),
    "sealed_differs": N_("entry {n} of {chain} is not the one main sealed"),
    "sealed_back": N_("main sealed {chain} at {want} entries, later at {got}: it was cut"),
    "reopened": N_("{chain} was opened twice: it had been deleted"),
    "seal_mark": N_("the head of {chain} says main sealed it at {got} entries, main's seals "
                    "say {want}: it would never be sealed again"),
    "anchor_differs": N_("entry {n} of the main chain is not the one anchored by {anchor}: "
                         "the log was rewritten up to there"),
    "anchor_beyond": N_("the main chain holds {got} entries, but the anchor {anchor} was "
                        "noted at entry {want}: its later entries were deleted"),
}

_ENTRY = select(AuditEntry.id, AuditEntry.ts, AuditEntry.actor, AuditEntry.action,
                AuditEntry.target, AuditEntry.detail, AuditEntry.chain, AuditEntry.pos,
                AuditEntry.prev_hash, AuditEntry.hash)
# Main first: its openings and seals are known before the terminals' chains are walked.
_WALKS = (_ENTRY.where(AuditEntry.chain == MAIN).order_by(AuditEntry.pos),
          _ENTRY.where(AuditEntry.chain != MAIN).order_by(AuditEntry.chain, AuditEntry.pos))


class _Walk:
    """Chains walked so far: each one's entries and last hash, the chains main opened."""

    def __init__(self, since: Verification | None = None) -> None:
        self.heads: dict[str, tuple[int, str]] = dict(since.heads) if since else {}
        self.opened: dict[str, int] = dict(since.opened) if since else {}
        self.sealed = {c: dict(at) for c, at in since.sealed.items()} if since else {}
        self.sealed_by: dict[str, int] = dict(since.sealed_by) if since else {}
        self.ends: dict[str, int] = {}  # chain -> id of its last entry walked
        self.entries = since.entries if since else 0
        self.last_id = since.last_id if since else 0

    def step(self, row: Any) -> Verification | None:
        entry_id, ts, actor, action, target, detail, chain, pos, prev_hash, digest = row
        count, prev = self.heads.get(chain, (0, GENESIS))
        self.entries += 1
        if pos != count + 1:
            return self.bad(entry_id, "missing" if chain == MAIN else "missing_in",
                            n=count + 1, chain=chain)
        if prev_hash != prev:
            return self.bad(entry_id, "broken")
        if _digest_of(prev, entry_id, ts, actor, action, target, detail, chain, pos) != digest:
            return self.bad(entry_id, "altered")
        if chain == MAIN and action == OPENED and target:
            if target in self.opened:
                return self.bad(entry_id, "reopened", chain=target)
            self.opened[target] = entry_id
        elif chain == MAIN and action == SEALED and isinstance(detail, dict):
            for name, (n, last) in (detail.get("heads") or {}).items():
                before = max(self.sealed.get(name, {0: ""}))
                if n < before:
                    return self.bad(entry_id, "sealed_back", chain=name, want=before, got=n)
                self.sealed.setdefault(name, {})[n] = last
                self.sealed_by[name] = entry_id
        elif self.sealed.get(chain, {}).get(pos, digest) != digest:
            return self.bad(entry_id, "sealed_differs", n=pos, chain=chain)
        self.heads[chain] = (pos, digest)
        self.ends[chain] = entry_id
        self.last_id = max(self.last_id, entry_id)
        return None

    def bad(self, entry_id: int | None, reason: str, **args: Any) -> Verification:
        return Verification(False, self.entries, entry_id, reason, args)

    def finish(self, session: Session) -> Verification:
        heads = {h.chain: h for h in session.execute(select(AuditHead)).scalars()}
        for chain, (count, last_hash) in sorted(self.heads.items()):
            head = heads.get(chain)
            if head is None:
                return self.bad(self.ends.get(chain), "head_missing", chain=chain)
            if head.entries != count or head.hash != last_hash:
                if head.entries > count:
                    return self.bad(head.last_id, "tail_cut", chain=chain, want=head.entries,
                                    got=count)
                return self.bad(head.last_id, "wrong_end", chain=chain, entry=head.last_id)
        for chain, head in sorted(heads.items()):
            if chain not in self.heads and head.entries:
                return self.bad(head.last_id, "tail_cut", chain=chain, want=head.entries,
                                got=0)
        others = (self.heads.keys() | heads.keys()) - {MAIN}
        for chain in sorted(others - self.opened.keys()):
            return self.bad(heads[chain].last_id if chain in heads else self.ends.get(chain),
                            "unregistered", chain=chain)
        for chain in sorted(self.opened.keys() - others):
            return self.bad(self.opened[chain], "gone", chain=chain)
        for chain, at in sorted(self.sealed.items()):
            got, want = self.heads.get(chain, (0, ""))[0], max(at)
            if got < want:
                return self.bad(self.sealed_by[chain], "sealed_cut", chain=chain, want=want,
                                got=got)
        unsealed = 0
        for chain, head in sorted(heads.items()):
            if chain == MAIN:
                continue
            # ``seal`` goes by the head's mark: one set past main's seals would keep the
            # chain's next entries out of every seal, and so out of every anchor. Below them
            # is harmless (a rebuilt head starts at 0): the next seal goes as far as the chain.
            want = max(self.sealed.get(chain, {0: ""}))
            if head.sealed > want:
                return self.bad(head.last_id, "seal_mark", chain=chain, got=head.sealed,
                                want=want)
            unsealed += max(0, head.entries - want)
        return Verification(True, self.entries, last_id=self.last_id, heads=self.heads,
                            chains=len(self.heads), opened=self.opened, sealed=self.sealed,
                            sealed_by=self.sealed_by, unsealed=unsealed)


ANCHOR_HEX = 20  # hex digits of an anchor's hash: 80 bits, still short enough to copy by hand
_POS_MAX = 2**31 - 1  # the column's range (an integer on PostgreSQL)


@dataclass(frozen=True)
class Anchor:
    """Where main had come to: its entry count and last hash, as ``POS:HASH``. The chains
    catch any edit made without recomputing the hashes; someone who can write the database
    and knows how they are computed (the code is open) can recompute every one, and
    ``verify`` then finds a valid log. An anchor noted outside the database (the works
    council report prints one, ``relais audit verify`` shows it) settles that: main's
    entry at ``pos`` must still have that hash, and since each hash covers every entry
    before it, nothing of main up to it can have been rewritten or cut, nor any entry of a
    terminal's chain that main had sealed by then (``unsealed`` counts those it had not:
    the next seal, within a minute while a relay runs, brings them under the next anchor).
    Twenty hex digits: a forged log that keeps them is one try in 2**80."""

    pos: int
    digest: str

    def __str__(self) -> str:
        return f"{self.pos}:{self.digest[:ANCHOR_HEX]}"

    @classmethod
    def parse(cls, text: str) -> Anchor:
        """An anchor as written down (``1234:9f3a2c718b0e44d1c07a``; spaces and case ignored).
        Raises ``ValueError`` for anything else (the callers say how one is written)."""
        pos, sep, digest = "".join(text.split()).lower().partition(":")
        if not sep or not pos.isdigit() or len(pos) > 10 or not 1 <= int(pos) <= _POS_MAX \
                or not ANCHOR_HEX <= len(digest) <= 64 \
                or any(ch not in "0123456789abcdef" for ch in digest):
            raise ValueError(f"not an anchor: {text[:80]!r}")
        return cls(int(pos), digest)


def anchor_of(result: Verification) -> Anchor | None:
    """Where main ends in a good verification (None: a log with no entry yet)."""
    if not result.ok or MAIN not in result.heads:
        return None
    return Anchor(*result.heads[MAIN])


def check_anchor(session: Session, anchor: Anchor) -> Verification | None:
    """None if main's entry ``anchor.pos`` has the anchor's hash, else why not. Only
    meaningful once ``verify`` found the log intact: that proves each entry's hash follows
    from those before it, so this one entry's hash vouches for all of them."""
    row = session.execute(select(AuditEntry.id, AuditEntry.hash).where(
        AuditEntry.chain == MAIN, AuditEntry.pos == anchor.pos)).first()
    if row is None:
        got = session.scalar(select(func.count()).select_from(AuditEntry)
                             .where(AuditEntry.chain == MAIN))
        return Verification(False, 0, None, "anchor_beyond",
                            {"anchor": str(anchor), "want": anchor.pos, "got": got or 0})
    if not row.hash.startswith(anchor.digest):
        return Verification(False, 0, row.id, "anchor_differs",
                            {"anchor": str(anchor), "n": anchor.pos})
    return None


def verify_anchored(session: Session, anchors: list[Anchor]
                    ) -> tuple[Verification, Verification | None]:
    """The whole log walked (never ``since``: an anchor holds only in a log whose every
    hash was just recomputed, ``check_anchor``'s condition kept here for every caller),
    then each anchor checked: the walk's result, and why the first anchor that fails does
    (None: all hold, or the log is not intact and no anchor can vouch for it)."""
    result = verify(session)
    for anchor in anchors if result.ok else ():
        failed = check_anchor(session, anchor)
        if failed is not None:
            return result, failed
    return result, None


def verify(session: Session, since: Verification | None = None) -> Verification:
    """Walk every chain and check that each ends at its head and that main opened each.
    ``since``: a good verification of an earlier state of this log; if its newest entry is
    unchanged with as many before it, only what follows is walked, each chain going on
    from where it ended (the console's audit page, at every view; a full walk is a second
    or more per 100,000 entries). Rows are read as plain tuples, a batch at a time."""
    walks, walk = _WALKS, _Walk()
    if since is not None and since.ok and since.last_id:
        kept = session.execute(_ENTRY.where(AuditEntry.id == since.last_id)).first()
        before = session.scalar(select(func.count()).select_from(AuditEntry)
                                .where(AuditEntry.id <= since.last_id))
        if kept is None or before != since.entries \
                or since.heads.get(kept.chain, (0, ""))[1] != kept.hash \
                or _digest_of(kept.prev_hash, *kept[:8]) != kept.hash:
            return verify(session)  # changed under it: the whole walk says where
        walks = tuple(w.where(AuditEntry.id > since.last_id) for w in _WALKS)
        walk = _Walk(since)
    for stmt in walks:
        for row in session.execute(stmt.execution_options(yield_per=2000)):
            bad = walk.step(row)
            if bad is not None:
                return bad
    return walk.finish(session)


class ChainWatch:
    """The chains' state as the console's audit page shows it at every view, without
    walking the whole log each time (150,000 entries: 2 s; the page took 4.3 s). Per
    database, the last good verification is kept: a view checks that its newest entry is
    unchanged with as many before it, then walks only the entries since. The whole log is walked
    again at most ``full_every`` seconds apart, so an old entry altered in place is seen
    within that time; the page says when it was (``relais audit verify`` always walks it
    all)."""

    def __init__(self, full_every: float = 600.0) -> None:
        self.full_every = full_every
        self._lock = threading.Lock()
        self._known: dict[str, tuple[Verification, float, dt.datetime]] = {}

    def check(self, session: Session) -> tuple[Verification, dt.datetime]:
        """The chains' state now, and when the log was last walked whole (UTC)."""
        key = database_key(session)
        with self._lock:
            known = self._known.get(key)
            if known is not None and time.monotonic() - known[1] < self.full_every:
                result = verify(session, since=known[0])
                walked, at = known[1], known[2]
            else:
                result = verify(session)
                walked, at = time.monotonic(), utcnow()
            if result.ok:
                self._known[key] = (result, walked, at)
            else:
                self._known.pop(key, None)  # walked whole again at the next view
            return result, at


WATCH = ChainWatch()
