"""employees.search_name folded again: æ, œ, ø, ł, ı, đ, ð and þ spelt as typed without them

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 10:00:00

A name is searched by its folded form (lower case, accents off). Unicode decomposes "é"
into "e" and an accent, but not "æ" nor "ı": "laetitia" did not find Lætitia, nor "yildiz"
Yıldız, and the kiosk's keyboard has none of those letters. The names stored are folded
again with them spelt out (``hr_console.store.models.search_key``).
"""
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

BATCH = 2000
# A copy of the letters and the fold as they were when this ran: a migration must not
# change when the application code does.
_LETTERS = str.maketrans({"æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "ı": "i", "đ": "d",
                          "ð": "d", "þ": "th"})


def _fold(text: str | None, letters: bool) -> str:
    decomposed = unicodedata.normalize("NFKD", (text or "").casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return bare.translate(_LETTERS) if letters else bare


def _refold(letters: bool) -> None:
    conn = op.get_bind()
    employees = sa.table('employees', sa.column('id', sa.Integer), sa.column('name', sa.String),
                         sa.column('search_name', sa.Text))
    last = 0
    while True:
        rows = conn.execute(sa.select(employees.c.id, employees.c.name, employees.c.search_name)
                            .where(employees.c.id > last).order_by(employees.c.id)
                            .limit(BATCH)).all()
        if not rows:
            break
        changed = [{'eid': r[0], 'folded': _fold(r[1], letters)} for r in rows
                   if _fold(r[1], letters) != r[2]]
        if changed:  # only the few names with such a letter are written
            conn.execute(employees.update().where(employees.c.id == sa.bindparam('eid'))
                         .values(search_name=sa.bindparam('folded')), changed)
        last = rows[-1][0]


def upgrade() -> None:
    _refold(True)


def downgrade() -> None:
    _refold(False)
