"""The group form. Choices (sites, teams, shifts) are filled by the view from the database
(and, for a supervisor, from their own teams only), so a forged value is refused here."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

NAME_MAX = 80
DESCRIPTION_MAX = 500


def _checkboxes(label: object) -> SelectMultipleField:
    return SelectMultipleField(label, coerce=int, choices=[], validators=[Optional()],
                               widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())


def post_right_choices() -> list[SelectChoice]:
    return [SelectChoice("everyone", _l("Every member")),
            SelectChoice("leads", _l("Team leads and HR only (the others read)"))]


def moderation_choices() -> list[SelectChoice]:
    return [SelectChoice("", _l("As for a one-to-one message (the sender's setting)")),
            SelectChoice("pre", _l("Before delivery (hold every post)")),
            SelectChoice("post", _l("After delivery (reviewable)")),
            SelectChoice("none", _l("No moderation"))]


class GroupForm(FlaskForm):
    name = StringField(_l("Group name"), validators=[
        DataRequired(message=_l("A group needs a name.")),
        Length(max=NAME_MAX, message=_l("A group name has at most 80 characters."))])
    description = TextAreaField(_l("Description"), validators=[
        Optional(), Length(max=DESCRIPTION_MAX,
                           message=_l("A description has at most 500 characters."))])
    site = SelectField(_l("Site"), coerce=int, choices=[])
    everyone = BooleanField(_l("Everyone (on the group's site, or everywhere)"))
    teams = _checkboxes(_l("Teams"))
    sites = _checkboxes(_l("Whole sites"))
    shifts = _checkboxes(_l("Shifts (the members of the shift's team)"))
    post_right = RadioField(_l("Who may post"), choices=[], default="everyone")
    members_reply = BooleanField(_l("The other members may reply to a post"))
    moderation_mode = SelectField(_l("Moderation of the group's posts"), choices=[])

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.post_right.choices = post_right_choices()
        self.moderation_mode.choices = moderation_choices()

    def rules(self) -> list[tuple[str, int | None]]:
        """The membership rules the form describes, in the service's terms."""
        out: list[tuple[str, int | None]] = [("everyone", None)] if self.everyone.data else []
        out += [("team", int(t)) for t in self.teams.data or []]
        out += [("site", int(s)) for s in self.sites.data or []]
        out += [("shift", int(s)) for s in self.shifts.data or []]
        return out


class PersonForm(FlaskForm):
    """Add or remove one hand-picked member (the id is checked by the service)."""

    employee = HiddenField(validators=[DataRequired()])


class ActionForm(FlaskForm):
    """Archive, reopen, delete: only the CSRF token."""
