"""a terminal's latest safety alerts found without reading all of them

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 08:00:00

- ``ix_safety_alerts_terminal_raised`` on ``safety_alerts (terminal_id, raised_at)``: the
  budget of alerts in nobody's name (``relay.alerts``) reads a terminal's alerts of the last
  hour at each such alert, including the ones it turns away; through the (terminal, client
  id) index that was every alert the terminal ever raised, sorted, each time.
"""
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_safety_alerts_terminal_raised', 'safety_alerts',
                    ['terminal_id', 'raised_at'])


def downgrade() -> None:
    op.drop_index('ix_safety_alerts_terminal_raised', table_name='safety_alerts')
