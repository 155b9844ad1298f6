from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from hr_console.services.admin_settings import (
    MAX_QUICK_REPLIES,
    MAX_QUICK_REPLY_CHARS,
    RETENTION_MAX,
    RETENTION_MIN,
    SESSION_HOURS_MAX,
    SESSION_HOURS_MIN,
    SESSION_IDLE_MAX,
    SESSION_IDLE_MIN,
)


class GeneralForm(FlaskForm):
    retention_days = IntegerField(
        _l("Keep messages for (days)"),
        validators=[InputRequired(_l("Enter a number of days.")),
                    NumberRange(RETENTION_MIN, RETENTION_MAX,
                                _l("From %(min)s to %(max)s days.", min=RETENTION_MIN, max=RETENTION_MAX))])
    keywords = TextAreaField(_l("Keywords that always hold a message (one per line)"),
                             validators=[Optional(), Length(max=30_000)])
    default_moderation = SelectField(
        _l("Default moderation"),
        choices=[("pre", _l("pre: hold every message for approval")),
                 ("post", _l("post: deliver at once, review afterwards")),
                 ("none", _l("none: deliver, no review"))])
    media_always_held = BooleanField(_l("Photos and drawings are always held for approval"))
    supervisors_moderate_own_teams = BooleanField(_l("Supervisors moderate their own teams' messages"))
    pin_always = BooleanField(_l("Ask for a PIN at every badge-in"))
    session_max_hours = IntegerField(
        _l("A badge session ends after (hours)"),
        validators=[Optional(),  # left out of a post: the value stays as it is
                    NumberRange(SESSION_HOURS_MIN, SESSION_HOURS_MAX,
                                _l("From %(min)s to %(max)s hours.", min=SESSION_HOURS_MIN,
                                   max=SESSION_HOURS_MAX))])
    session_idle_minutes = IntegerField(
        _l("or when unused for (minutes)"),
        validators=[Optional(),
                    NumberRange(SESSION_IDLE_MIN, SESSION_IDLE_MAX,
                                _l("From %(min)s to %(max)s minutes.", min=SESSION_IDLE_MIN,
                                   max=SESSION_IDLE_MAX))])


class QuickReplyRow(Form):
    icon = SelectField(_l("Icon"), choices=[], validate_choice=False)
    fr = StringField(_l("French"), validators=[Optional(), Length(max=MAX_QUICK_REPLY_CHARS)])
    en = StringField(_l("English"), validators=[Optional(), Length(max=MAX_QUICK_REPLY_CHARS)])
    remove = BooleanField(_l("Remove"))


class QuickRepliesForm(FlaskForm):
    rows = FieldList(FormField(QuickReplyRow), min_entries=1, max_entries=MAX_QUICK_REPLIES + 3)
