from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, DateTimeLocalField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from hr_console.domain.reminders import CHOICES
from hr_console.services.notices import BODY_MAX, TITLE_MAX

REMIND_CHOICES = [
    ("none", _l("No: only at their next badge-in")),
    *((str(m), _l("Every %(num)d minutes", num=m)) for m in CHOICES if m < 60),
    *((str(m), _l("Every hour")) for m in CHOICES if m == 60),
]


class NoticeForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=TITLE_MAX)])
    body = TextAreaField(_l("Text"), validators=[Optional(), Length(max=BODY_MAX)])
    # The choices a user sees are only a convenience: the service checks the scope itself,
    # so a forged value gets a 403 rather than a form error.
    target = SelectField(_l("Send to"), validators=[DataRequired()], validate_choice=False)
    priority = RadioField(_l("Priority"), choices=[("normal", _l("Normal")), ("urgent", _l("Urgent"))],
                          default="normal")
    ack_required = BooleanField(_l("Ask each person to confirm they have read it"))
    # "none": at their next badge-in only. Absent from the post (a disabled select): the
    # default for the priority (domain.reminders.default_every). Parsed by the view, checked
    # by the service against relais_wire.limits.REMIND_EVERY_MIN.
    remind_every = SelectField(_l("Remind every N minutes while badged in"),
                               choices=REMIND_CHOICES, default="none", validate_choice=False)
    valid_from = DateTimeLocalField(_l("Show from"), validators=[Optional()],
                                    format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"])
    valid_until = DateTimeLocalField(_l("Show until"), validators=[Optional()],
                                     format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"])
    photo = FileField(_l("Photo (optional)"))


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""
