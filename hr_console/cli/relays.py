"""``relais relays``: which relay processes are alive and which terminals each one handles,
read from the partition leases in the database (docs/architecture.md, "Relays that add
up"). For the person who starts a second relay and wants to see it take its share, or
who wonders why a terminal's messages stopped: a partition with no owner means no relay
is listening to its terminals.

Registered on the root group by ``register(main)`` (``hr_console/cli/__init__.py``).
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import click

from hr_console.cli.i18n import Command, _, _l


@click.command("relays", cls=Command,
               help=_l("List the live relays, the partitions and terminals each one handles."))
@click.option("--json", "as_json", is_flag=True, help=_l("Print the figures as JSON."))
@click.pass_obj
def relays(obj: Any, as_json: bool) -> None:
    from sqlalchemy import func, select

    from hr_console.domain.partitions import PARTITIONS
    from hr_console.services import leases
    from hr_console.store.models import RelayMember, Terminal, utcnow

    store = obj.store()
    try:
        with store.session() as s:
            owners = leases.owners(s)
            per_partition = dict(s.execute(
                select(Terminal.partition, func.count()).where(Terminal.active.is_(True))
                .group_by(Terminal.partition)).all())
            members = dict(s.execute(select(RelayMember.name, RelayMember.seen_at)).all())
    finally:
        store.dispose()
    now = utcnow()
    held = Counter(o for o in owners.values() if o)
    terminals = Counter()
    for p, owner in owners.items():
        terminals[owner] += per_partition.get(p, 0)
    orphans = [p for p in range(PARTITIONS) if owners.get(p) is None]
    rows = [{"relay": name, "partitions": held.get(name, 0), "terminals": terminals.get(name, 0),
             "seen_s_ago": round((now - seen).total_seconds(), 1)}
            for name, seen in sorted(members.items()) if held.get(name) or
            (now - seen).total_seconds() < 60]
    unheard = sum(per_partition.get(p, 0) for p in orphans)
    if as_json:
        click.echo(json.dumps({"relays": rows, "partitions_without_relay": orphans,
                               "terminals_without_relay": unheard}))
        return
    if not rows:
        click.echo(_("no relay is running: terminals' messages wait in their outboxes "
                     "(start one: relais relay)"))
    for row in rows:
        click.echo(_("{relay:<24} {partitions:>3} partitions {terminals:>6} terminals  "
                     "seen {seen} s ago").format(relay=row["relay"], partitions=row["partitions"],
                                                 terminals=row["terminals"], seen=row["seen_s_ago"]))
    if orphans and rows:
        click.echo(_("{orphans} partitions ({terminals} terminals) have no relay yet: "
                     "they are taken within seconds while a relay runs").format(
            orphans=len(orphans), terminals=unheard))


def register(main: click.Group) -> None:
    main.add_command(relays)
