"""downlinks found by what they are about

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 03:30:00

- ``ix_downlinks_kind_ref`` on ``downlinks (kind, ref)``: the copies of one notice (a
  withdrawal, a reminder, the purge of those of ended notices) and of one message (the
  retention purge) are found without reading every row owed to anyone; at 50,000
  employees a notice has 50,000 copies and the table holds those of every notice.
"""
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_downlinks_kind_ref', 'downlinks', ['kind', 'ref'])


def downgrade() -> None:
    op.drop_index('ix_downlinks_kind_ref', table_name='downlinks')
