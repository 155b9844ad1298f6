"""workgroups: group conversations with live membership and a receipt per member

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 13:45:00

- ``groups``: name, description, site (NULL = every site), who may post, whether members may
  reply, the group's moderation mode (NULL = the sender's), open / archived / deleted.
- ``group_rules`` (team, site, shift, everyone) and ``group_people`` (hand-picked): the
  membership is worked out live from them (services.groups), never stored per member, so
  moving team changes it with no one clicking.
- ``messages``: ``group_id`` (a group post), ``urgent``, ``reply_to``; ``recipient_id``
  becomes nullable, NULL exactly for a group post.
- ``group_receipts``: one row per member when a post is fanned out: who receives it, and
  "seen by N of M".
- ``ix_employees_team_active``: a group's members (the active members of its teams) read
  from the index alone: 20 groups of 500 counted at a badge-in without 10,000 row reads.

On SQLite the messages table is copied (batch mode) to make ``recipient_id`` nullable; the
moderation decisions pointing at it are set aside meanwhile (``_messages_rebuilt``).
"""
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


@contextmanager
def _messages_rebuilt() -> Iterator[None]:
    """Around a batch that copies the messages table on SQLite: the moderation decisions
    that point at it are set aside and put back. With foreign keys on (and PRAGMA
    foreign_keys cannot change inside the migration's transaction), dropping the old copy
    would otherwise fail, even deferred: the copy replacing it holds the same ids, but
    SQLite counts the broken references when the old table goes, not at commit."""
    if op.get_bind().dialect.name != 'sqlite':
        yield
        return
    op.execute('CREATE TEMP TABLE _relais_decisions AS SELECT * FROM moderation_decisions')
    op.execute('DELETE FROM moderation_decisions')
    yield
    op.execute('INSERT INTO moderation_decisions SELECT * FROM _relais_decisions')
    op.execute('DROP TABLE _relais_decisions')


def upgrade() -> None:
    op.create_table(
        'groups',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('name', sa.String(80), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('site_id', sa.Integer(), sa.ForeignKey('sites.id')),
        sa.Column('post_right', sa.String(8), nullable=False),
        sa.Column('members_reply', sa.Boolean(), nullable=False),
        sa.Column('moderation_mode', sa.String(8)),
        sa.Column('state', sa.String(10), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('archived_at', sa.DateTime()),
        sa.Column('created_by', sa.String(80), nullable=False),
    )
    op.create_table(
        'group_rules',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('group_id', sa.Integer(), sa.ForeignKey('groups.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('kind', sa.String(10), nullable=False),
        sa.Column('ref_id', sa.Integer()),
    )
    op.create_index('ix_group_rules_group_id', 'group_rules', ['group_id'])
    op.create_index('ix_group_rules_kind_ref', 'group_rules', ['kind', 'ref_id'])
    op.create_table(
        'group_people',
        sa.Column('group_id', sa.Integer(), sa.ForeignKey('groups.id', ondelete='CASCADE'),
                  primary_key=True),
        sa.Column('employee_id', sa.Integer(), sa.ForeignKey('employees.id'), primary_key=True),
    )
    op.create_index('ix_group_people_employee_id', 'group_people', ['employee_id'])
    op.create_index('ix_employees_team_active', 'employees', ['team_id', 'active'])

    # Before group_receipts exists: on SQLite the old messages table is dropped, and a
    # cascading foreign key towards it would empty the receipts.
    with _messages_rebuilt(), op.batch_alter_table('messages') as batch:
        batch.alter_column('recipient_id', existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column('group_id', sa.Integer(),
                                   sa.ForeignKey('groups.id', name='fk_messages_group_id')))
        batch.add_column(sa.Column('urgent', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column('reply_to', sa.String(36)))
        batch.create_index('ix_messages_group_id', ['group_id'])

    op.create_table(
        'group_receipts',
        sa.Column('message_id', sa.Integer(), sa.ForeignKey('messages.id', ondelete='CASCADE'),
                  primary_key=True),
        sa.Column('employee_id', sa.Integer(), sa.ForeignKey('employees.id'), primary_key=True),
        sa.Column('delivered_at', sa.DateTime()),
        sa.Column('read_at', sa.DateTime()),
    )
    op.create_index('ix_group_receipts_employee_id', 'group_receipts', ['employee_id'])


def downgrade() -> None:
    op.drop_index('ix_group_receipts_employee_id', table_name='group_receipts')
    op.drop_table('group_receipts')
    # Group posts have no recipient: they cannot survive recipient_id becoming NOT NULL.
    bind = op.get_bind()
    messages = sa.table('messages', sa.column('id', sa.Integer),
                        sa.column('recipient_id', sa.Integer))
    group_posts = sa.select(messages.c.id).where(messages.c.recipient_id.is_(None))
    decisions = sa.table('moderation_decisions', sa.column('message_id', sa.Integer))
    bind.execute(decisions.delete().where(decisions.c.message_id.in_(group_posts)))
    bind.execute(messages.delete().where(messages.c.recipient_id.is_(None)))
    with _messages_rebuilt(), op.batch_alter_table('messages') as batch:
        batch.drop_index('ix_messages_group_id')
        batch.drop_constraint('fk_messages_group_id', type_='foreignkey')
        batch.drop_column('reply_to')
        batch.drop_column('urgent')
        batch.drop_column('group_id')
        batch.alter_column('recipient_id', existing_type=sa.Integer(), nullable=False)
    op.drop_index('ix_employees_team_active', table_name='employees')
    op.drop_index('ix_group_people_employee_id', table_name='group_people')
    op.drop_table('group_people')
    op.drop_index('ix_group_rules_kind_ref', table_name='group_rules')
    op.drop_index('ix_group_rules_group_id', table_name='group_rules')
    op.drop_table('group_rules')
    op.drop_table('groups')
