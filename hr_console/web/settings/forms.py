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
    GROUP_COPIES_MAX,
    GROUP_COPIES_MIN,
    MAX_QUICK_REPLIES,
    MAX_QUICK_REPLY_CHARS,
    RETENTION_MAX,
    RETENTION_MIN,
    SESSION_HOURS_MAX,
    SESSION_HOURS_MIN,
    SESSION_IDLE_MAX,
    SESSION_IDLE_MIN,
    SHIFT_GRACE_MAX,
    SHIFT_GRACE_MIN,
)


class ShiftFields:
    """The shift settings of ``GeneralForm`` (issue 16)."""

    shift_grace_minutes = IntegerField(
        _l("Minutes before and after a shift that still count as on shift"),
        validators=[Optional(),
                    NumberRange(SHIFT_GRACE_MIN, SHIFT_GRACE_MAX,
                                _l("From %(min)s to %(max)s minutes.", min=SHIFT_GRACE_MIN,
                                   max=SHIFT_GRACE_MAX))])
    off_shift_notice = BooleanField(
        _l("Show a notice to people who badge in outside their shift, which they accept"))
    off_shift_notice_fr = TextAreaField(_l("Its text in French"),
                                        validators=[Optional(), Length(max=500)])
    off_shift_notice_en = TextAreaField(_l("Its text in English"),
                                        validators=[Optional(), Length(max=500)])


class GeneralForm(ShiftFields, FlaskForm):
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
    voice_always_held = BooleanField(_l("Voice messages are always held for approval"))
    supervisors_moderate_own_teams = BooleanField(_l("Supervisors moderate their own teams' messages"))
    supervisors_manage_groups = BooleanField(
        _l("Supervisors manage workgroups made of their own teams"))
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
    group_copies_per_minute = IntegerField(
        _l("Group copies one author may send in a minute before their posts wait for HR"),
        validators=[Optional(),
                    NumberRange(GROUP_COPIES_MIN, GROUP_COPIES_MAX,
                                _l("From %(min)s to %(max)s.", min=GROUP_COPIES_MIN,
                                   max=GROUP_COPIES_MAX))])

    safety_alert_recipients = TextAreaField(
        _l("People who receive every safety alert, besides the site's supervisors "
           "(employee numbers, one per line)"),
        validators=[Optional(), Length(max=2_000)])
    safety_alert_on_idle = BooleanField(
        _l("Safety alert button on the idle screen (no badge needed)"))
    read_urgent_aloud = BooleanField(_l("Read urgent notices aloud when they open"))


class QuickReplyRow(Form):
    icon = SelectField(_l("Icon"), choices=[], validate_choice=False)
    fr = StringField(_l("French"), validators=[Optional(), Length(max=MAX_QUICK_REPLY_CHARS)])
    en = StringField(_l("English"), validators=[Optional(), Length(max=MAX_QUICK_REPLY_CHARS)])
    remove = BooleanField(_l("Remove"))


class QuickRepliesForm(FlaskForm):
    rows = FieldList(FormField(QuickReplyRow), min_entries=1, max_entries=MAX_QUICK_REPLIES + 3)
