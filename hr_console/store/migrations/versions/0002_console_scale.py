"""console at scale: employees.search_name, indexes for the employee list and the dashboard

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 13:30:00

- ``employees.search_name`` holds the folded name (lower case, no accents), so a name
  search is a plain scan of one column instead of a Python function per row (SQLite);
  filled here for the rows that exist, then kept by the ORM.
- ``ix_employees_active_name``: the default list (active people, by name) reads in order.
- ``ix_messages_state_created`` replaces ``ix_messages_state``: the held queue's count,
  oldest and pages are one index range (SQLite used to walk the whole time index from the
  oldest message to find the oldest held one: 1.5 s at a million messages).
- ``ix_moderation_decisions_created_at``: the moderation-wait chart reads two weeks of
  decisions, not all of them.
"""
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

BATCH = 2000


def _fold(text: str | None) -> str:
    # A copy of hr_console.store.models.search_key as it was when this ran: a migration
    # must not change when the application code does.
    decomposed = unicodedata.normalize("NFKD", (text or "").casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def upgrade() -> None:
    with op.batch_alter_table('employees', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_name', sa.Text(), server_default='', nullable=False))
        batch_op.create_index('ix_employees_active_name', ['active', 'name'], unique=False)
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index('ix_messages_state_created', ['state', 'created_at'], unique=False)
        batch_op.drop_index('ix_messages_state')
    with op.batch_alter_table('moderation_decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_moderation_decisions_created_at'), ['created_at'],
                              unique=False)

    conn = op.get_bind()
    employees = sa.table('employees', sa.column('id', sa.Integer), sa.column('name', sa.String),
                         sa.column('search_name', sa.Text))
    last = 0
    while True:
        rows = conn.execute(sa.select(employees.c.id, employees.c.name)
                            .where(employees.c.id > last).order_by(employees.c.id)
                            .limit(BATCH)).all()
        if not rows:
            break
        conn.execute(employees.update().where(employees.c.id == sa.bindparam('eid'))
                     .values(search_name=sa.bindparam('folded')),
                     [{'eid': r[0], 'folded': _fold(r[1])} for r in rows])
        last = rows[-1][0]


def downgrade() -> None:
    with op.batch_alter_table('moderation_decisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_moderation_decisions_created_at'))
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index('ix_messages_state', ['state'], unique=False)
        batch_op.drop_index('ix_messages_state_created')
    with op.batch_alter_table('employees', schema=None) as batch_op:
        batch_op.drop_index('ix_employees_active_name')
        batch_op.drop_column('search_name')
