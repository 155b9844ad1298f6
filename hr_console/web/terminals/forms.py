from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length, Regexp

NAME_RULE = Regexp(r"^[a-z0-9-]{1,32}\Z",
                   message=_l("1 to 32 lower-case letters, digits or dashes (for example kiosk-3)."))


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class EnrolForm(FlaskForm):
    name = StringField(_l("Terminal name"), validators=[DataRequired(), Length(max=32), NAME_RULE],
                       filters=[_strip])
    site = SelectField(_l("Site"), coerce=int, choices=[])


class SiteForm(FlaskForm):
    site = SelectField(_l("Site"), coerce=int, choices=[])


class RenameForm(FlaskForm):
    name = StringField(_l("New name"), validators=[DataRequired(), Length(max=32), NAME_RULE],
                       filters=[_strip])
