"""supervisors on the floor: notices from terminals, reminders until acknowledged,
shift-aware contact rules, a time zone per site

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 21:00:00

- ``notices.author_employee_id``: the team lead who broadcast it from a terminal (a console
  notice keeps ``created_by``); ``notices.remind_every_min``: how often a badged-in person
  who has not acknowledged it is reminded (NULL: only at badge-in).
- ``notice_receipts.reminders`` / ``last_reminded_at``: each reminder counted for the
  tracking page, and when the last one went out (the relay's schedule).
- ``contact_rules.on_shift_only``: the rule lets its senders write only during one of their
  team's shifts (with the grace period of the settings).
- ``sites.timezone``: the site's own zone for shift windows (NULL: the installation's).
- ``ix_shifts_team_id``: a sender's shifts are read by their team.
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('notices') as batch:
        batch.add_column(sa.Column('author_employee_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('remind_every_min', sa.Integer(), nullable=True))
        batch.create_foreign_key('fk_notices_author_employee', 'employees',
                                 ['author_employee_id'], ['id'])
        batch.create_index('ix_notices_author_employee_id', ['author_employee_id'])
        # The reminder round reads only notices with an interval (services.reminders).
        batch.create_index('ix_notices_reminding', ['valid_until'],
                           sqlite_where=sa.text('remind_every_min IS NOT NULL'),
                           postgresql_where=sa.text('remind_every_min IS NOT NULL'))
    with op.batch_alter_table('notice_receipts') as batch:
        batch.add_column(sa.Column('reminders', sa.Integer(), nullable=False,
                                   server_default='0'))
        batch.add_column(sa.Column('last_reminded_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('contact_rules') as batch:
        batch.add_column(sa.Column('on_shift_only', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    with op.batch_alter_table('sites') as batch:
        batch.add_column(sa.Column('timezone', sa.String(64), nullable=True))
    # A sender's shifts are read by team (services.shifts) at badge-in and in relay batches.
    op.create_index('ix_shifts_team_id', 'shifts', ['team_id'])


def downgrade() -> None:
    op.drop_index('ix_shifts_team_id', table_name='shifts')
    with op.batch_alter_table('sites') as batch:
        batch.drop_column('timezone')
    with op.batch_alter_table('contact_rules') as batch:
        batch.drop_column('on_shift_only')
    with op.batch_alter_table('notice_receipts') as batch:
        batch.drop_column('last_reminded_at')
        batch.drop_column('reminders')
    with op.batch_alter_table('notices') as batch:
        batch.drop_index('ix_notices_reminding')
        batch.drop_index('ix_notices_author_employee_id')
        batch.drop_constraint('fk_notices_author_employee', type_='foreignkey')
        batch.drop_column('remind_every_min')
        batch.drop_column('author_employee_id')
