"""French or English for the ``relais`` command line, from the standard locale variables.

The reader is the IT person installing Relais at a French company and the HR staff running
``relais`` commands, in their shell: so the language is the shell's, read as the standard
library's ``gettext`` reads it (the first of ``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES``, ``LANG``
that is set): French when it says ``fr`` (``fr_FR.UTF-8``, ``fr_CA``, ``fr``), English for
anything else, ``C``, ``POSIX`` and unset included (CI, and every English text unchanged).

One catalogue: the console's (``hr_console/web/translations``, domain ``messages``). The same
words (terminal, site, home...) read the same in the console and the shell, and ``make
extract`` keeps both in step, since it reads ``hr_console`` whole: this module's ``_``,
``_l``, ``ngettext`` and ``N_`` are names it knows. click says its own words (``Usage:``,
``Error:``, ``Missing option``...) through the standard library's ``gettext.gettext``, whose
default domain is ``messages`` too: binding that domain to our translations makes them
French, and ``click_words`` lists their ids so that ``make extract`` keeps them.

Help texts are read by click when a command is defined, before the language is known (and a
test may run the same commands in both languages): they are marked with ``_l``, which
changes nothing, and ``Command`` and ``Group`` translate them when click renders help.

A catalogue never stops a command: a ``.mo`` older than its ``.po`` (or missing) is compiled
for the command alone, in a temporary folder of its own (never into the install, which may
be root's, nor a cache another account could fill); a damaged one, or one that cannot be
compiled, and the command speaks English.
"""

from __future__ import annotations

import atexit
import copy
import gettext
import inspect
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import click

DOMAIN = "messages"  # the console's catalogue, and the standard library's default domain
TRANSLATIONS = Path(__file__).resolve().parent.parent / "web" / "translations"


def _(message: str) -> str:
    """``message`` in the user's language (English, the id, when the catalogue lacks it)."""
    return gettext.dgettext(DOMAIN, message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural of a message, by French or English rules, for ``n``."""
    return gettext.dngettext(DOMAIN, singular, plural, n)


def translated(message: str) -> str | None:
    """``message``'s translation when the catalogue has one for the user's language, else
    None: for an English text worded elsewhere (a service's message), left as it is."""
    text = gettext.dgettext(DOMAIN, message)
    return text if text != message else None


def _l(message: str) -> str:
    """A help text, marked for ``make extract``; ``Command`` translates it when shown."""
    return message


def N_(message: str) -> str:  # noqa: N802 - the name gettext tools know
    """A message id translated later (by click, or through ``translated``): only marked."""
    return message


def french() -> bool:
    """Whether the standard library's ``gettext`` picks French, with one French catalogue:
    the first locale variable that is set is a list of languages, read up to ``C``."""
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var)
        if value:
            for lang in value.split(":"):
                code = lang.split(".")[0].split("@")[0].split("_")[0].lower()
                if code in ("c", "posix"):
                    return False
                if code == "fr":
                    return True
            return False
    return False


_OWN: Path | None = None  # this process's catalogue, compiled from a stale install's .po


def _fresh(po: Path) -> bool:
    mo = po.with_suffix(".mo")
    return mo.is_file() and (not po.is_file() or mo.stat().st_mtime_ns >= po.stat().st_mtime_ns)


def catalogue_dir() -> Path | None:
    """Where French is read from: the install's ``.mo`` when it is up to date, else the
    ``.po`` compiled (with Babel) for this process alone; None (English) when neither can
    be had."""
    po = TRANSLATIONS / "fr" / "LC_MESSAGES" / f"{DOMAIN}.po"
    if _fresh(po):
        return TRANSLATIONS
    try:
        from hr_console import catalogues  # Babel: the server's extra, not a terminal's

        return _own_copy(catalogues.compiled(po))
    except Exception:  # noqa: BLE001 - no Babel, no temporary folder, an unreadable .po
        return None


def _own_copy(data: bytes) -> Path:
    """A compiled catalogue in a folder of this process's own (``mkdtemp``), gone when the
    command ends: never a shared cache, where another account could have left a catalogue
    of its own for root to read (``sudo -E`` keeps the caller's home), or a half-written
    one. Readable by all (it is the install's own text), so that a command root hands over
    to the home's owner (cli/owner.py) goes on in French."""
    global _OWN
    if _OWN is None:
        _OWN = Path(tempfile.mkdtemp(prefix="relais-catalogue-"))
        atexit.register(shutil.rmtree, _OWN, True)
    mo = _OWN / "fr" / "LC_MESSAGES" / f"{DOMAIN}.mo"
    mo.parent.mkdir(parents=True, exist_ok=True)
    mo.write_bytes(data)
    for folder in (_OWN, mo.parent.parent, mo.parent):
        folder.chmod(0o755)
    mo.chmod(0o644)
    return _OWN


def setup() -> None:
    """Point the ``messages`` domain at our catalogue (or at none: English), for this
    command and click's own words. Called as each command line starts; never raises. The
    catalogue is read here, not at the first message: a damaged one (empty, a bad plural
    rule) means English, never a command that fails half-way; and it is read before root
    hands a command over to the home's owner."""
    try:
        directory = catalogue_dir() if french() else TRANSLATIONS
        if directory is not None:
            gettext.translation(DOMAIN, str(directory), fallback=True)  # kept by gettext
    except Exception:  # noqa: BLE001 - an unreadable install or catalogue: English
        directory = None
    # When French cannot be had, a place with no catalogue: the ids, English, are shown.
    gettext.bindtextdomain(DOMAIN, str(directory) if directory is not None else os.devnull)


class _Formatter(click.HelpFormatter):
    def write_heading(self, heading: str) -> None:
        """A heading's colon as the language writes it (French: ``Options :``)."""
        self.write(f"{'':>{self.current_indent}}{_('{heading}:').format(heading=heading)}\n")


class _Context(click.Context):
    formatter_class = _Formatter


class _Translated:
    """What ``Command`` and ``Group`` add to click's: the setup above when a command line
    starts, and help texts translated when rendered."""

    context_class = _Context
    _help: str | None = None

    @property
    def help(self) -> str | None:
        return _(self._help) if self._help else self._help

    @help.setter
    def help(self, value: str | None) -> None:
        # cleaned as click shows it, so a docstring and a literal give the same id
        self._help = inspect.cleandoc(value) if value else value

    def main(self, *args: Any, **kwargs: Any) -> Any:
        setup()
        return super().main(*args, **kwargs)  # type: ignore[misc]

    def _help_record(self, param: click.Parameter, ctx: click.Context) -> tuple[str, str] | None:
        if isinstance(param, click.Option) and param.help:
            shown = copy.copy(param)
            # click words its --help option once per process: in whichever language came first
            own = param is self.get_help_option(ctx)  # type: ignore[attr-defined]
            shown.help = _("Show this message and exit.") if own else _(param.help)
            return shown.get_help_record(ctx)
        return param.get_help_record(ctx)

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """click's, with each option's help translated."""
        rows = [row for param in self.get_params(ctx)  # type: ignore[attr-defined]
                if not isinstance(param, click.Argument)
                and (row := self._help_record(param, ctx)) is not None]
        if rows:
            with formatter.section(_("Options")):
                formatter.write_dl(rows)
        if isinstance(self, click.Group):
            self.format_commands(ctx, formatter)


class Option(click.Option):
    """An option whose prompt (``prompt=_l("...")``) is asked in the user's language."""

    _prompt: str | None = None

    @property
    def prompt(self) -> str | None:
        return _(self._prompt) if self._prompt else self._prompt

    @prompt.setter
    def prompt(self, value: str | None) -> None:
        self._prompt = value


class Command(_Translated, click.Command):
    """A ``relais`` command: French or English, help texts included."""


class Group(_Translated, click.Group):
    """A ``relais`` command group: its commands and groups are of these classes too."""

    command_class = Command
    group_class = type  # a subgroup of the same class


def click_words() -> list[str | tuple[str, str]]:
    """The ids of what click itself says to a ``relais`` user, exactly as in click's source
    (tests/cli/test_cli_french.py checks they still are): listed so that ``make extract``
    keeps their French. click's words for programmers (a command defined wrong) stay out."""
    return [
        N_("Usage:"), N_("Options"), N_("Commands"), N_("Positional arguments"),
        N_("Show this message and exit."), N_("Show the version and exit."),
        N_("Error: {message}"), N_("Try '{command} {option}' for help."), N_("Aborted!"),
        N_("Missing command."), N_("Missing argument"), N_("Missing option"),
        N_("Missing parameter"), N_("Missing {param_type}"), N_("Missing parameter: {param_name}"),
        N_("No such option {name!r}."), N_("No such command {name!r}."),
        ngettext("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)", 1),
        ngettext("Got unexpected extra argument ({args})",
                 "Got unexpected extra arguments ({args})", 1),
        N_("Invalid value: {message}"), N_("Invalid value for {param_hint}: {message}"),
        N_("Option {name!r} does not take a value."),
        ngettext("Option {name!r} requires an argument.",
                 "Option {name!r} requires {nargs} arguments.", 1),
        N_("Argument {name!r} takes {nargs} values."),
        ngettext("Takes {nargs} values but 1 was given.",
                 "Takes {nargs} values but {len} were given.", 1),
        N_("Choose from:\n\t{choices}"),
        ngettext("{value!r} is not {choice}.", "{value!r} is not one of {choices}.", 1),
        N_("{value!r} is not a valid {number_type}."), N_("{value} is not in the range {range}."),
        N_("{value!r} is not a valid boolean. Recognized values: {states}"),
        N_("{value!r} is not a valid UUID."),
        ngettext("{value!r} does not match the format {format}.",
                 "{value!r} does not match the formats {formats}.", 1),
        N_("file"), N_("directory"), N_("path"),
        N_("{name} {filename!r} does not exist."), N_("{name} {filename!r} is a file."),
        N_("{name} {filename!r} is a directory."), N_("{name} {filename!r} is not readable."),
        N_("{name} {filename!r} is not writable."), N_("{name} {filename!r} is not executable."),
        N_("Could not open file {filename!r}: {message}"), N_("unknown error"),
        N_("default: {default}"), N_("env var: {var}"), N_("(dynamic)"), N_("deprecated"),
        N_("Repeat for confirmation"), N_("Error: The two entered values do not match."),
        N_("Error: invalid input"), N_("Do you want to continue?"),
        N_("Confirm the action without prompting."),
        N_("required"),  # click says it through a variable, _(extra["required"])
    ]
