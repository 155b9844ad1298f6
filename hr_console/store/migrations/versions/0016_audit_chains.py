"""one audit chain per terminal beside the main one: relays never wait on one head

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 14:00:00

- ``audit_log.chain`` and ``audit_log.pos`` (unique together): every entry was appended under
  one lock, a settings row, held until the appending transaction committed. A relay's batch
  appends when a person accepts the charter or the off-shift notice, types a wrong PIN or
  raises an alert, so at a shift change after HR published a charter every relay's batches
  waited on each other and on the console there. What a relay audits for a terminal now goes
  to that terminal's chain, whose head only the terminal's relay takes. Existing entries
  form the ``main`` chain, ``pos`` = ``id`` (their hashes are unchanged).
- ``audit_heads`` replaces the ``audit_anchor`` settings row: one head per chain, with how
  far main last sealed it (``sealed``; a terminal's chain cut and its head rewound shows).
- PostgreSQL: ``audit_log.id`` now comes from its sequence (it was chosen by the appender
  under the one lock), moved past the existing ids.
"""
import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_heads',
                    sa.Column('chain', sa.String(length=40), nullable=False),
                    sa.Column('entries', sa.Integer(), nullable=False),
                    sa.Column('last_id', sa.Integer(), nullable=False),
                    sa.Column('hash', sa.String(length=64), nullable=False),
                    sa.Column('sealed', sa.Integer(), nullable=False, server_default='0'),
                    sa.PrimaryKeyConstraint('chain'))
    op.add_column('audit_log', sa.Column('chain', sa.String(length=40), nullable=False,
                                         server_default='main'))
    op.add_column('audit_log', sa.Column('pos', sa.Integer(), nullable=True))
    bind = op.get_bind()
    bind.execute(sa.text("UPDATE audit_log SET pos = id"))
    with op.batch_alter_table('audit_log') as batch:  # SQLite: no SET NOT NULL in place
        batch.alter_column('pos', existing_type=sa.Integer(), nullable=False)
    op.create_index('ix_audit_log_chain_pos', 'audit_log', ['chain', 'pos'], unique=True)
    settings = sa.table('settings', sa.column('key', sa.String), sa.column('value', sa.JSON))
    anchor = bind.execute(sa.select(settings.c.value)
                          .where(settings.c.key == 'audit_anchor')).scalar()
    if isinstance(anchor, dict) and {'entries', 'last_id', 'hash'} <= anchor.keys():
        bind.execute(sa.text("INSERT INTO audit_heads (chain, entries, last_id, hash) "
                             "VALUES ('main', :e, :l, :h)"),
                     {"e": anchor['entries'], "l": anchor['last_id'], "h": anchor['hash']})
    bind.execute(settings.delete().where(settings.c.key == 'audit_anchor'))
    if bind.dialect.name == 'postgresql':
        bind.execute(sa.text("SELECT setval(pg_get_serial_sequence('audit_log', 'id'), "
                             "COALESCE((SELECT MAX(id) FROM audit_log), 0) + 1, false)"))


def downgrade() -> None:
    # The main chain's head goes back to the settings row; entries of terminals' chains stay
    # but no longer verify as one chain.
    bind = op.get_bind()
    head = bind.execute(sa.text("SELECT entries, last_id, hash FROM audit_heads "
                                "WHERE chain = 'main'")).first()
    if head is not None:
        settings = sa.table('settings', sa.column('key', sa.String), sa.column('value', sa.JSON))
        bind.execute(settings.insert().values(key='audit_anchor', value={
            "entries": head.entries, "last_id": head.last_id, "hash": head.hash}))
    op.drop_index('ix_audit_log_chain_pos', table_name='audit_log')
    with op.batch_alter_table('audit_log') as batch:
        batch.drop_column('pos')
        batch.drop_column('chain')
    op.drop_table('audit_heads')
