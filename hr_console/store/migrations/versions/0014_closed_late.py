"""a session's end declared after the server ended it vouches for nothing

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 11:00:00

- ``badge_sessions.closed_late``: ``closed_seq`` set by a logout or a badge-in that came after
  the server had ended the session (the console, its age or idle limit). It was taken as the
  kiosk's exact word: a logout forged with the terminal's password and a huge ``last_seq``
  let whoever held it write in the person's name for a week, unheld. Now it only narrows the
  window, and what still arrives for the session is few and held for HR.
"""
import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN (SQLite takes one with a default): a batch copy of the table would
    # rebuild its indexes from reflection, which may lose the partial ones' WHERE.
    op.add_column('badge_sessions', sa.Column('closed_late', sa.Boolean(), nullable=False,
                                              server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('badge_sessions') as batch:
        batch.drop_column('closed_late')
