"""relay partitions: terminals owned by one relay at a time through leases

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 10:30:00

- ``terminals.partition``: derived from the name (domain.partitions), indexed, so a relay
  lists the terminals of the partitions it owns in one query.
- ``relay_leases``: one row per partition, its owner and until when.
- ``relay_members``: the live relays, each heartbeating, so each knows its fair share.
- ``badge_sessions.login_ref``: the login uplink that opened the session, so a login the
  kiosk sends again (the first was lost while a partition changed relays) gets the same
  session back.
- Indexes for a badge-in and a relay batch at 50,000 employees: the rules about given
  senders and recipients, the HR desk, the teams a person supervises (each was a scan).
"""
import sqlalchemy as sa
from alembic import op

from hr_console.domain.partitions import partition_of

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('terminals') as batch:
        batch.add_column(sa.Column('partition', sa.Integer(), nullable=False, server_default='0'))
        batch.create_index('ix_terminals_partition', ['partition'])
    bind = op.get_bind()
    terminals = sa.table('terminals', sa.column('id', sa.Integer), sa.column('name', sa.String),
                         sa.column('partition', sa.Integer))
    rows = bind.execute(sa.select(terminals.c.id, terminals.c.name)).all()
    if rows:
        bind.execute(terminals.update().where(terminals.c.id == sa.bindparam('tid'))
                     .values(partition=sa.bindparam('p')),
                     [{'tid': tid, 'p': partition_of(name)} for tid, name in rows])
    with op.batch_alter_table('terminals') as batch:
        batch.alter_column('partition', server_default=None)
    op.create_table(
        'relay_leases',
        sa.Column('partition', sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column('owner', sa.String(80)),
        sa.Column('expires_at', sa.DateTime()),
        sa.Column('epoch', sa.BigInteger(), nullable=False),
    )
    op.create_table(
        'relay_members',
        sa.Column('name', sa.String(80), primary_key=True),
        sa.Column('seen_at', sa.DateTime(), nullable=False),
    )
    with op.batch_alter_table('badge_sessions') as batch:
        batch.add_column(sa.Column('login_ref', sa.String(36)))
    op.create_index('ix_contact_rules_sender', 'contact_rules', ['sender_kind', 'sender_ref'])
    op.create_index('ix_contact_rules_recipient', 'contact_rules',
                    ['recipient_kind', 'recipient_ref'])
    op.create_index('ix_employees_is_hr_desk', 'employees', ['is_hr_desk'])
    op.create_index('ix_teams_supervisor_id', 'teams', ['supervisor_id'])


def downgrade() -> None:
    op.drop_index('ix_teams_supervisor_id', table_name='teams')
    op.drop_index('ix_employees_is_hr_desk', table_name='employees')
    op.drop_index('ix_contact_rules_recipient', table_name='contact_rules')
    op.drop_index('ix_contact_rules_sender', table_name='contact_rules')
    with op.batch_alter_table('badge_sessions') as batch:
        batch.drop_column('login_ref')
    op.drop_table('relay_members')
    op.drop_table('relay_leases')
    with op.batch_alter_table('terminals') as batch:
        batch.drop_index('ix_terminals_partition')
        batch.drop_column('partition')
