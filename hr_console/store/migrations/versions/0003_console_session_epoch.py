"""console sessions end at sign-out: console_users.session_epoch

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 14:10:00

Console sessions are signed cookies. Each carries the user's ``session_epoch``; signing out
(and a password reset or deactivation) moves the epoch on, so a copy of the cookie taken
before is refused at its next request instead of working until it expires.
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('console_users') as batch:
        batch.add_column(sa.Column('session_epoch', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('console_users') as batch:
        batch.drop_column('session_epoch')
