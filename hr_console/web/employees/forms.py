from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp

PIN_RULE = Regexp(r"^[0-9]{4,8}$", message=_l("A PIN is 4 to 8 digits."))


def _mode_choices() -> list[SelectChoice]:
    return [SelectChoice("", _l("Inherit (team, then default)")),
            SelectChoice("pre", _l("Before delivery (hold everything)")),
            SelectChoice("post", _l("After delivery (reviewable)")),
            SelectChoice("none", _l("No moderation"))]


class EmployeeForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    team = SelectField(_l("Team"), coerce=int, choices=[], validate_choice=True)
    language = SelectField(_l("Language"),
                           choices=[SelectChoice("fr", "Français"), SelectChoice("en", "English")])
    is_hr_desk = BooleanField(_l("HR desk (everyone the rules allow may write to this person)"))
    moderation_mode = SelectField(_l("Moderation of their messages"), choices=[])

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.moderation_mode.choices = _mode_choices()


class NewEmployeeForm(EmployeeForm):
    badge = StringField(_l("Badge number (optional)"), validators=[Optional(), Length(max=64)])
    pin = PasswordField(_l("PIN (optional, 4 to 8 digits)"), validators=[Optional(), PIN_RULE])


class BadgeForm(FlaskForm):
    badge = StringField(_l("Badge number"), validators=[DataRequired(), Length(max=64)])


class PinForm(FlaskForm):
    pin = PasswordField(_l("New PIN"), validators=[DataRequired(), PIN_RULE])
    confirm = PasswordField(_l("Repeat the PIN"), validators=[
        DataRequired(), EqualTo("pin", message=_l("The two PINs differ."))])


class ImportForm(FlaskForm):
    file = FileField(_l("CSV file"), validators=[FileRequired(message=_l("Choose a file."))])
