from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional


class PlaceForm(FlaskForm):
    """Checked by services.legal_holds (one place for the rules); the fields only parse."""

    kind = RadioField(_l("What to keep"), default="person", choices=[
        SelectChoice("person", _l("Everything about one person")),
        SelectChoice("conversation", _l("One conversation between two people"))])
    employee = IntegerField(_l("Employee number"), validators=[Optional()])
    other = IntegerField(_l("Employee number of the other person"), validators=[Optional()])
    reason = TextAreaField(_l("Reason (the dispute, the request, the reference)"))


class ReleaseForm(FlaskForm):
    reason = TextAreaField(_l("Reason for releasing it"))
