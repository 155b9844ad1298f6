from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, SelectMultipleField, StringField, TimeField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

WEEKDAY_LABELS = [("mon", _l("Mon")), ("tue", _l("Tue")), ("wed", _l("Wed")), ("thu", _l("Thu")),
                  ("fri", _l("Fri")), ("sat", _l("Sat")), ("sun", _l("Sun"))]


def mode_choices() -> list[SelectChoice]:
    return [SelectChoice("", _l("Inherit the default setting")),
            SelectChoice("pre", _l("Before delivery (hold everything)")),
            SelectChoice("post", _l("After delivery (reviewable)")),
            SelectChoice("none", _l("No moderation"))]


class SiteForm(FlaskForm):
    name = StringField(_l("Site name"), validators=[DataRequired(), Length(max=80)])


class SiteZoneForm(FlaskForm):
    timezone = StringField(_l("Time zone of its shifts"), validators=[Length(max=64)])


class NewTeamForm(FlaskForm):
    name = StringField(_l("Team name"), validators=[DataRequired(), Length(max=80)])
    site = SelectField(_l("Site"), coerce=int, choices=[])


class TeamForm(FlaskForm):
    name = StringField(_l("Team name"), validators=[DataRequired(), Length(max=80)])
    site = SelectField(_l("Site"), coerce=int, choices=[])
    supervisor = SelectField(_l("Supervisor"), coerce=int, choices=[])
    supervisor_other = IntegerField(_l("or the ID of another employee"),
                                    validators=[Optional(), NumberRange(min=1)])
    moderation_mode = SelectField(_l("Moderation of the team's messages"), choices=[])

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.moderation_mode.choices = mode_choices()


class ShiftForm(FlaskForm):
    name = StringField(_l("Shift name"), validators=[DataRequired(), Length(max=80)])
    days = SelectMultipleField(_l("Days"), choices=[SelectChoice(v, label) for v, label in WEEKDAY_LABELS],
                               widget=ListWidget(prefix_label=False), option_widget=CheckboxInput(),
                               validators=[DataRequired(message=_l("Choose at least one day."))])
    start = TimeField(_l("Start"), validators=[DataRequired()])
    end = TimeField(_l("End"), validators=[DataRequired()])
