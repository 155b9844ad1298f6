from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SelectField, StringField
from wtforms.validators import Length, Optional


class FilterForm(FlaskForm):
    """Read from the query string (GET): no CSRF token needed to look."""

    class Meta:
        csrf = False

    # Typed (with the console's users suggested) or picked from a row: in a large
    # organisation thousands of employees and terminals act, too many for a menu.
    actor = StringField(_l("Who"), validators=[Optional(), Length(max=120)],
                        render_kw={"list": "audit-actors", "autocomplete": "off",
                                   "placeholder": _l("a console user, or the actor of a row")})
    action = SelectField(_l("Action"), choices=[], validate_choice=False, validators=[Optional()])
    target = StringField(_l("Target contains"), validators=[Optional(), Length(max=200)])
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To (included)"), validators=[Optional()])


class ExportForm(FlaskForm):
    """The export is a POST (it is audited): the filters travel as hidden fields."""

    actor = HiddenField()
    action = HiddenField()
    target = HiddenField(validators=[Optional(), Length(max=200)])
    date_from = HiddenField()
    date_to = HiddenField()
