"""one index entry per downlink in ix_downlinks_pending (PostgreSQL): dead ones marked each

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 00:30:00

A delivered downlink is deleted; until a VACUUM its index entry stays and points at a dead
row. The relay's look for anything owed (``downlinks.any_due``, four times a second) walks
each badged-in person's entries by a plain index scan, which marks the dead entries it meets
so that the next look skips them. ``confirmed_at`` is always NULL (confirming deletes the
row), so a person's entries all share one key, and PostgreSQL's B-tree deduplication (on by
default since 13) keeps them as posting lists: one is marked dead only once every row in it
is, and a single pending row kept its dead neighbours in every look. SQLite: nothing to do.
"""
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("ALTER INDEX ix_downlinks_pending SET (deduplicate_items = off)")
        op.execute("REINDEX INDEX ix_downlinks_pending")  # existing posting lists split


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("ALTER INDEX ix_downlinks_pending RESET (deduplicate_items)")
        op.execute("REINDEX INDEX ix_downlinks_pending")
