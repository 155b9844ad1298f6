"""safety alerts: raised at a terminal, past moderation, open until someone handles them

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 17:45:00

- ``safety_alerts``: the terminal and the person (NULL when raised from the idle screen),
  the site, the pictogram and a few words, how many people it was sent to, and who marked
  it handled and when (services.safety). Unique per terminal and uplink id, so a kiosk's
  resend stores nothing twice; indexed for the dashboard's open alerts.
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'safety_alerts',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('uid', sa.String(36), nullable=False, unique=True),
        sa.Column('terminal_id', sa.Integer(), sa.ForeignKey('terminals.id'), nullable=False),
        sa.Column('client_id', sa.String(36), nullable=False),
        sa.Column('employee_id', sa.Integer(), sa.ForeignKey('employees.id')),
        sa.Column('site_id', sa.Integer(), sa.ForeignKey('sites.id')),
        sa.Column('pictogram', sa.String(10), nullable=False),
        sa.Column('text', sa.String(200), nullable=False),
        sa.Column('recipients', sa.Integer(), nullable=False),
        sa.Column('raised_at', sa.DateTime(), nullable=False),
        sa.Column('handled_at', sa.DateTime()),
        sa.Column('handled_by', sa.Integer(), sa.ForeignKey('console_users.id')),
        sa.UniqueConstraint('terminal_id', 'client_id'),
    )
    op.create_index('ix_safety_alerts_open', 'safety_alerts', ['handled_at', 'raised_at'])


def downgrade() -> None:
    op.drop_index('ix_safety_alerts_open', table_name='safety_alerts')
    op.drop_table('safety_alerts')
