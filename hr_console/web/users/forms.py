from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from hr_console.services.directory import PASSWORD_MAX_CHARS
from hr_console.web.employees.common import LANGUAGE_LABELS

ROLE_LABELS = {"admin": _l("Administrator"), "hr": _l("HR"), "supervisor": _l("Supervisor"),
               "auditor": _l("Auditor")}


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class _AccountFields(FlaskForm):
    role = SelectField(_l("Role"), choices=list(ROLE_LABELS.items()))
    language = SelectField(_l("Language"), choices=list(LANGUAGE_LABELS.items()))
    employee = SelectField(_l("Employee (supervisors)"), coerce=int, choices=[])
    employee_other = IntegerField(_l("or the ID of another employee"),
                                  validators=[Optional(), NumberRange(min=1, max=10**12)])

    def employee_id(self) -> int | None:
        return self.employee_other.data or self.employee.data or None


class NewUserForm(_AccountFields):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=80)],
                           filters=[_strip])
    password = PasswordField(_l("Initial password"),
                             validators=[Optional(), Length(max=PASSWORD_MAX_CHARS)])


class UserForm(_AccountFields):
    pass


class PasswordForm(FlaskForm):
    password = PasswordField(_l("New password"),
                             validators=[Optional(), Length(max=PASSWORD_MAX_CHARS)])
