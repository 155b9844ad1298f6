from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField
from wtforms.validators import Length, Optional

from relais_wire.limits import MAX_REASON_CHARS

TABS = ("queue", "recent", "history")


class ActionForm(FlaskForm):
    """Approve, mark reviewed: only the CSRF token and where to come back."""

    back = HiddenField(validators=[Optional()])


class ReasonForm(ActionForm):
    reason = StringField(_l("Reason (the sender sees it)"),
                         validators=[Optional(), Length(max=MAX_REASON_CHARS)])


class BulkForm(ReasonForm):
    action = SelectField(choices=[("approve", _l("Approve")), ("reject", _l("Reject")),
                                  ("review", _l("Mark reviewed")), ("retract", _l("Retract"))])
