from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length


class PersonRuleForm(FlaskForm):
    """A rule naming the employee on one side: ``out`` (they may write to ``target``) or
    ``in`` (``target`` may write to them). Targets: person:ID, team:ID, supervisor,
    hr_desk, everyone."""

    direction = SelectField(choices=[SelectChoice("out"), SelectChoice("in")])
    target = StringField(validators=[DataRequired(), Length(max=40)])
    allow_reply = BooleanField(_l("The other side may reply"))
    on_shift_only = BooleanField(_l("Only during the sender's shift"))


class GroupRuleForm(FlaskForm):
    sender = StringField(_l("Who may write"), validators=[DataRequired(), Length(max=40)])
    recipient = StringField(_l("To whom"), validators=[DataRequired(), Length(max=40)])
    allow_reply = BooleanField(_l("The recipients may reply"))
    on_shift_only = BooleanField(_l("Only during the sender's shift"))
