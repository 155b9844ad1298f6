"""legal holds: what the retention purge must keep for a dispute

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 21:10:00

- ``legal_holds``: a hold placed by HR or an auditor, with its reason, on one person
  (``kind`` 'person': every message they sent or received, the group posts they wrote or
  received) or on one conversation (``kind`` 'conversation': the 1:1 messages between
  ``employee_id`` and ``other_employee_id``, stored smaller id first). Active while
  ``released_at`` is NULL; a released hold stays as the record of who kept what, and why
  (services.legal_holds). Indexed by person for the purge's and the console's look-ups.
"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'legal_holds',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('kind', sa.String(12), nullable=False),
        sa.Column('employee_id', sa.Integer(), sa.ForeignKey('employees.id'), nullable=False),
        sa.Column('other_employee_id', sa.Integer(), sa.ForeignKey('employees.id')),
        sa.Column('reason', sa.String(300), nullable=False),
        sa.Column('placed_by', sa.String(80), nullable=False),
        sa.Column('placed_at', sa.DateTime(), nullable=False),
        sa.Column('released_by', sa.String(80)),
        sa.Column('released_at', sa.DateTime()),
        sa.Column('release_reason', sa.String(300)),
    )
    op.create_index('ix_legal_holds_employee', 'legal_holds', ['employee_id', 'released_at'])
    op.create_index('ix_legal_holds_other', 'legal_holds', ['other_employee_id'])


def downgrade() -> None:
    op.drop_index('ix_legal_holds_other', table_name='legal_holds')
    op.drop_index('ix_legal_holds_employee', table_name='legal_holds')
    op.drop_table('legal_holds')
