"""policy_epoch: a number the database raises in every transaction that changes who may write
to whom, or how it is moderated

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 23:30:00

The relay read the people, the contact rules and the settings of every batch again: three
statements of a text's seven on PostgreSQL, a quarter of its transaction. It now keeps them
from one batch to the next while this number stays what its batch's first statement reads.
Triggers raise it, in the changing transaction itself, whoever writes (the console, a
command, a hand-typed statement):

- employees: a row added or removed, or its name, team, HR desk, active or moderation
  mode changed (not its PIN, lockout or language);
- teams: added, removed, or their supervisor or moderation mode changed;
- contact_rules and settings: any change.

The row is created by the first change (an upsert), so that ``relais db copy`` can copy
its source's row into the new database (whose own triggers then raise it past the source's,
as the people and rules arrive); no row reads as 0.

PostgreSQL: deferred constraint triggers, raising it once per transaction at its commit (a
transaction-local setting remembers it did): the row's lock is taken last and held only
while committing, so two console transactions never wait on each other for it mid-way, and
an import of 50,000 employees raises it once; a statement trigger for TRUNCATE, which row
triggers never see. SQLite: a trigger per row and event (SQLite has no others; it empties
a table with triggers row by row); its single writer takes no lock on top. The relay
checks that every one is in place before it remembers anything
(``services.remembered.watched``): a tool that rebuilds a table may drop its triggers.
"""
import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

# table -> columns whose UPDATE counts (None: any)
WATCHED = {
    'employees': ('name', 'team_id', 'is_hr_desk', 'active', 'moderation_mode'),
    'teams': ('supervisor_id', 'moderation_mode'),
    'contact_rules': None,
    'settings': None,
}
RAISE = ("INSERT INTO policy_epoch (id, n) VALUES (1, 1) "
         "ON CONFLICT (id) DO UPDATE SET n = policy_epoch.n + 1")

PG_FUNCTION = f"""
CREATE FUNCTION relais_policy_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('relais.policy_changed', true) IS DISTINCT FROM txid_current()::text THEN
    {RAISE};
    PERFORM set_config('relais.policy_changed', txid_current()::text, true);
  END IF;
  RETURN NULL;
END $$
"""


def _update_of(columns: tuple[str, ...] | None) -> str:
    return "UPDATE" if columns is None else "UPDATE OF " + ", ".join(columns)


def upgrade() -> None:
    op.create_table('policy_epoch',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('n', sa.BigInteger(), nullable=False),
                    sa.PrimaryKeyConstraint('id'))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(PG_FUNCTION)
        for table, columns in WATCHED.items():
            op.execute(f"CREATE CONSTRAINT TRIGGER policy_epoch AFTER INSERT OR DELETE OR "
                       f"{_update_of(columns)} ON {table} DEFERRABLE INITIALLY DEFERRED "
                       f"FOR EACH ROW EXECUTE FUNCTION relais_policy_changed()")
            op.execute(f"CREATE TRIGGER policy_epoch_truncate AFTER TRUNCATE ON {table} "
                       f"FOR EACH STATEMENT EXECUTE FUNCTION relais_policy_changed()")
        return
    for table, columns in WATCHED.items():
        for event in ('INSERT', 'DELETE', _update_of(columns)):
            name = f"policy_epoch_{table}_{event.split()[0].lower()}"
            op.execute(f"CREATE TRIGGER {name} AFTER {event} ON {table} "
                       f"BEGIN {RAISE}; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for table in WATCHED:
            op.execute(f"DROP TRIGGER policy_epoch ON {table}")
            op.execute(f"DROP TRIGGER policy_epoch_truncate ON {table}")
        op.execute("DROP FUNCTION relais_policy_changed()")
    else:
        for table in WATCHED:
            for event in ('insert', 'delete', 'update'):
                op.execute(f"DROP TRIGGER policy_epoch_{table}_{event}")
    op.drop_table('policy_epoch')
