"""voice messages: how long each one lasts

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 10:40:00

- ``messages.duration_ms``: a voice message's length in milliseconds, as the relay measured
  it while decoding (NULL for every other kind). The sound itself is a ``media`` row
  (``audio/ogg``), like a photo.
"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('messages') as batch:
        batch.add_column(sa.Column('duration_ms', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('messages') as batch:
        batch.drop_column('duration_ms')
