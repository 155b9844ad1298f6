"""the messaging charter: its versions and who accepted which

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 00:40:00

- ``charter_versions``: each published version, its four sections in French and English
  (JSON), who published it and when; ``version`` unique, never edited once published.
- ``charter_acceptances``: one row per person and version accepted at a terminal; unique
  per (employee, version) so a resent acceptance counts once; indexed by version for the
  console's and the works council report's counts.
- ``safety_alerts.media_id`` (the alert's optional photo, a ``media`` row) and
  ``safety_alerts.recipient_ids`` (the employee ids it was sent to, who alone may fetch it).
"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'charter_versions',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('version', sa.Integer(), nullable=False, unique=True),
        sa.Column('texts', sa.JSON(), nullable=False),
        sa.Column('published_by', sa.String(80), nullable=False),
        sa.Column('published_at', sa.DateTime(), nullable=False),
    )
    op.create_table(
        'charter_acceptances',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('charter_id', sa.Integer(), sa.ForeignKey('charter_versions.id'),
                  nullable=False),
        sa.Column('employee_id', sa.Integer(), sa.ForeignKey('employees.id'), nullable=False),
        sa.Column('terminal', sa.String(64), nullable=False),
        sa.Column('accepted_at', sa.DateTime(), nullable=False),
        sa.UniqueConstraint('employee_id', 'charter_id', name='uq_charter_acceptance'),
    )
    op.create_index('ix_charter_acceptances_charter', 'charter_acceptances',
                    ['charter_id', 'accepted_at'])
    with op.batch_alter_table('safety_alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('media_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('recipient_ids', sa.JSON(), nullable=True))
        batch_op.create_foreign_key('fk_safety_alerts_media_id', 'media', ['media_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('safety_alerts', schema=None) as batch_op:
        batch_op.drop_constraint('fk_safety_alerts_media_id', type_='foreignkey')
        batch_op.drop_column('recipient_ids')
        batch_op.drop_column('media_id')
    op.drop_index('ix_charter_acceptances_charter', table_name='charter_acceptances')
    op.drop_table('charter_acceptances')
    op.drop_table('charter_versions')
