"""trust at the edges: throttles, terminal suspension, session end bookkeeping

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 23:00:00

- ``throttles``: failed badge-ins per terminal and console sign-ins per name and address,
  with the wait they earned (a growing delay instead of a lock anyone can trigger).
- ``terminals.logins_suspended_at``: a terminal that kept guessing takes no badge-in until
  HR resumes it.
- ``badge_sessions``: ``last_active_at`` (server-side idle limit), ``start_mark``,
  ``end_mark`` and ``closed_seq`` (after a logout, only what was typed before it), ``notify_end`` (a session
  the server ended still owes its terminal a logout).
- ``ix_messages_terminal_seq``: a late item for an ended session must not replay a seq.
- ``fk_team_supervisor`` on PostgreSQL, which 0001 never created there.
- ``downlinks.sender_id``: a message's copy names its sender, so retracting one sender's
  message never touches another's that reuses the same client id.
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'throttles',
        sa.Column('key', sa.String(80), primary_key=True),
        sa.Column('failures', sa.Float(), nullable=False, server_default='0'),
        sa.Column('last_failure_at', sa.DateTime()),
        sa.Column('wait_until', sa.DateTime()),
    )
    with op.batch_alter_table('terminals') as batch:
        batch.add_column(sa.Column('logins_suspended_at', sa.DateTime()))
    with op.batch_alter_table('badge_sessions') as batch:
        batch.add_column(sa.Column('last_active_at', sa.DateTime()))
        batch.add_column(sa.Column('start_mark', sa.BigInteger()))
        batch.add_column(sa.Column('end_mark', sa.BigInteger()))
        batch.add_column(sa.Column('closed_seq', sa.BigInteger()))
        batch.add_column(sa.Column('notify_end', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.create_index('ix_badge_sessions_notify_end', ['notify_end'])
    with op.batch_alter_table('downlinks') as batch:
        batch.add_column(sa.Column('sender_id', sa.Integer()))
    op.create_index('ix_messages_terminal_seq', 'messages', ['terminal_id', 'seq'])
    _team_supervisor_fk()


def _team_supervisor_fk() -> None:
    """0001 declared teams.supervisor_id -> employees with ``use_alter``, which create_table
    leaves out: on PostgreSQL the constraint never existed. Added where it is missing (SQLite
    has it inline)."""
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite':
        return
    names = {fk['name'] for fk in sa.inspect(bind).get_foreign_keys('teams')}
    if 'fk_team_supervisor' not in names:
        op.create_foreign_key('fk_team_supervisor', 'teams', 'employees', ['supervisor_id'], ['id'])


def downgrade() -> None:
    op.drop_index('ix_messages_terminal_seq', table_name='messages')
    with op.batch_alter_table('downlinks') as batch:
        batch.drop_column('sender_id')
    with op.batch_alter_table('badge_sessions') as batch:
        batch.drop_index('ix_badge_sessions_notify_end')
        for name in ('notify_end', 'closed_seq', 'end_mark', 'start_mark', 'last_active_at'):
            batch.drop_column(name)
    with op.batch_alter_table('terminals') as batch:
        batch.drop_column('logins_suspended_at')
    op.drop_table('throttles')
