"""The `relais` command line speaks French in a French locale and English otherwise (C, POSIX,
unset: CI, and every English text as it was), click's own words included; every string it
marks has its French in the console's catalogue, so one added without it fails here."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po
from click.testing import CliRunner

from hr_console.catalogues import ROOT, write_all
from hr_console.cli import i18n, main

FRENCH = {"LANGUAGE": "", "LC_ALL": "fr_FR.UTF-8", "LC_MESSAGES": "", "LANG": "fr_FR.UTF-8"}
ENGLISH = {"LANGUAGE": "", "LC_ALL": "C", "LC_MESSAGES": "", "LANG": "C"}
PO = ROOT / "hr_console/web/translations/fr/LC_MESSAGES/messages.po"
CLI = ROOT / "hr_console/cli"


@pytest.fixture(scope="module", autouse=True)
def compiled() -> None:
    """The tree's .mo up to date, as `make test` leaves it (a stale one would be compiled
    into the user's cache instead: tested below on a copy)."""
    write_all()


def relais(env: dict[str, str], *args: str, input: str | None = None) -> click.testing.Result:  # noqa: A002
    return CliRunner().invoke(main, list(args), env=env, input=input, catch_exceptions=False,
                              prog_name="relais")


def test_the_language_is_read_from_the_locale_variables_in_posix_order(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)
    assert not i18n.french()
    for value, french in (("fr_FR.UTF-8", True), ("fr_CA", True), ("fr", True),
                          ("fr_BE.UTF-8@euro", True), ("C", False), ("POSIX", False),
                          ("C.UTF-8", False), ("en_US.UTF-8", False), ("de_DE", False)):
        monkeypatch.setenv("LANG", value)
        assert i18n.french() is french, value
    monkeypatch.setenv("LC_ALL", "C")  # LC_ALL before LANG
    assert not i18n.french()
    monkeypatch.setenv("LANGUAGE", "de:fr")  # a list, read up to C: no German, so French
    assert i18n.french()


def test_root_help_in_french_then_in_english_in_the_same_process() -> None:
    fr = relais(FRENCH, "--help")
    assert fr.exit_code == 0
    assert fr.output.startswith("Usage : relais [OPTIONS] COMMAND [ARGS]...\n")
    assert "Relais : messagerie modérée par les RH pour les bornes d'atelier." in fr.output
    assert "Afficher ce message et quitter." in fr.output
    assert "Options :" in fr.output and "Commandes :" in fr.output
    assert "Le port MQTT des bornes." in fr.output
    assert "Lancer l'application tactile d'une borne." in fr.output  # a command's short help
    en = relais(ENGLISH, "--help")
    assert en.exit_code == 0
    assert en.output.startswith("Usage: relais [OPTIONS] COMMAND [ARGS]...\n")
    assert "Relais: HR-moderated messaging for shop-floor terminals." in en.output
    assert "Show this message and exit." in en.output  # click words it once per process
    assert "Commands:" in en.output and "The terminals' MQTT port." in en.output
    assert "Afficher" not in en.output and "borne" not in en.output


def test_a_subcommand_help_in_french_and_in_english() -> None:
    fr = relais(FRENCH, "terminal", "add", "--help")
    assert fr.exit_code == 0
    assert fr.output.startswith("Usage : relais terminal add [OPTIONS] NAME\n")
    assert "Enrôler une borne ; affiche ses identifiants en JSON, une seule fois." in fr.output
    assert "Site où se trouve la borne.  [obligatoire]" in fr.output
    en = relais(ENGLISH, "terminal", "add", "--help")
    assert "Enrol a terminal; prints its credentials as JSON, once." in en.output
    assert "Site the terminal stands on.  [required]" in en.output
    assert "\nOptions:\n" in en.output
    assert "Show this message and exit." in en.output


def test_click_usage_errors_in_french_and_in_english() -> None:
    fr = relais(FRENCH, "terminal", "add", "t1")
    assert fr.exit_code == 2
    assert fr.output.splitlines()[-3:] == [
        "Essayez « relais terminal add --help » pour l'aide.", "",
        "Erreur : Option manquante '--site'."]
    assert relais(FRENCH, "nosuch").output.splitlines()[-1] == \
        "Erreur : Commande inconnue : 'nosuch'."
    assert relais(FRENCH, "--trusted-proxies", "11", "up").output.splitlines()[-1] == \
        "Erreur : Valeur non valable pour '--trusted-proxies' : 11 n'est pas dans " \
        "l'intervalle 0<=x<=10."
    en = relais(ENGLISH, "terminal", "add", "t1")
    assert en.exit_code == 2
    assert en.output.splitlines()[-3:] == [
        "Try 'relais terminal add --help' for help.", "", "Error: Missing option '--site'."]
    assert relais(ENGLISH, "nosuch").output.splitlines()[-1] == "Error: No such command 'nosuch'."


def test_refusals_in_french_and_in_english(tmp_path: Path) -> None:
    nothing = tmp_path / "nothing"
    fr = relais(FRENCH, "--home", str(nothing), "audit", "verify")
    assert fr.exit_code == 1
    assert fr.output == (f"Erreur : {nothing} n'est pas encore un dossier de données Relais : "
                         f"lancez `relais --home {nothing} init`\n")
    en = relais(ENGLISH, "--home", str(nothing), "audit", "verify")
    assert en.output == (f"Error: {nothing} is not a Relais home yet: "
                         f"run `relais --home {nothing} init`\n")
    assert relais(FRENCH, "kiosk").output == \
        "Erreur : donnez soit --terminal NAME, soit --config FILE\n"
    assert relais(ENGLISH, "kiosk").output == "Error: give either --terminal NAME or --config FILE\n"


def test_a_home_made_and_used_in_french_then_in_english(tmp_path: Path) -> None:
    home = tmp_path / "home"
    fr = relais(FRENCH, "--home", str(home), "init")
    assert fr.exit_code == 0, fr.output
    assert fr.output.startswith(f"Dossier de données Relais prêt dans {home} (base de données ")
    fr = relais(FRENCH, "--home", str(home), "site", "add", "Usine Nord")
    assert fr.output == "site 'Usine Nord' créé (id 1)\n"
    fr = relais(FRENCH, "--home", str(home), "site", "add", "Usine Sud", "--timezone", "Europe/Paris")
    assert fr.output == "site 'Usine Sud' créé (id 2)\n"
    fr = relais(FRENCH, "--home", str(home), "site", "list")
    assert fr.output.splitlines()[0] == "  id  nom            bornes   salariés"
    fr = relais(FRENCH, "--home", str(home), "terminal", "revoke", "t9")
    assert fr.exit_code == 1 and fr.output == "Erreur : aucune borne nommée 't9'\n"
    fr = relais(FRENCH, "--home", str(home), "audit", "verify")
    assert re.fullmatch(r"journal d'audit intact : \d+ entrées dans \d+ chaînes?\n"
                        r"ancre actuelle : \d+:[0-9a-f]{20} \(relevez-la hors de ce serveur : .*\)\n",
                        fr.output), fr.output
    en = relais(ENGLISH, "--home", str(home), "audit", "verify")
    assert re.fullmatch(r"audit log intact: \d+ entries in \d+ chains?\n"
                        r"anchor now: \d+:[0-9a-f]{20} \(note it outside this server: .*\)\n",
                        en.output), en.output
    anchor = en.output.split("anchor now: ")[1].split()[0]
    fr = relais(FRENCH, "--home", str(home), "audit", "verify", "--anchor", anchor)
    assert f"l'ancre {anchor} tient" in fr.output, fr.output
    fr = relais(FRENCH, "--home", str(home), "audit", "verify", "--anchor", "1:zz")
    assert fr.exit_code == 2 and "au moins 20 chiffres hexadécimaux" in fr.output, fr.output
    en = relais(ENGLISH, "--home", str(home), "site", "timezone", "Usine Sud")
    assert en.output == "site 'Usine Sud': shifts read in the installation's time zone\n"
    fr = relais(FRENCH, "--home", str(home), "site", "timezone", "Usine Sud")
    assert fr.output == "site 'Usine Sud' : postes lus dans le fuseau horaire de l'installation\n"


def test_relais_toml_mistakes_in_french_and_as_ever_in_english(tmp_path: Path) -> None:
    """What the IT person setting a home up meets first: a setting relais.toml cannot hold,
    or a file that is not TOML, said in their language (and in English word for word as it
    was), naming the value they typed."""
    home = tmp_path / "home"
    assert relais(ENGLISH, "--home", str(home), "init").exit_code == 0
    toml = home / "relais.toml"
    good = toml.read_text(encoding="utf-8")
    for line, fr_said, en_said in (
            ('timezone = "Mars/Olympus"',
             "le réglage timezone doit être un nom de fuseau horaire comme Europe/Paris, "
             "pas 'Mars/Olympus'",
             "setting timezone must be a time zone name such as Europe/Paris, "
             "not 'Mars/Olympus'"),
            ('trusted_proxies = 40',
             "le réglage trusted_proxies compte les proxys inverses devant la console "
             "(0 à 10), pas 40",
             "setting trusted_proxies counts the reverse proxies in front of the console "
             "(0 to 10), not 40"),
            ('console_port = "huit mille"',
             "le réglage console_port doit être un nombre, pas 'huit mille'",
             "setting console_port must be a number, not 'huit mille'")):
        key = line.split(" = ")[0]  # in place of the one init wrote, if any, at the top
        toml.write_text(line + "\n" + re.sub(rf"(?m)^{key} = .*\n", "", good),
                        encoding="utf-8")
        fr = relais(FRENCH, "--home", str(home), "site", "list")
        assert fr.exit_code == 1 and fr.output == f"Erreur : {fr_said}\n", fr.output
        en = relais(ENGLISH, "--home", str(home), "site", "list")
        assert en.exit_code == 1 and en.output == f"Error: {en_said}\n", en.output
    toml.write_text("mqtt_host = 127.0.0.1\n" + good, encoding="utf-8")  # no quotes
    fr = relais(FRENCH, "--home", str(home), "site", "list")
    assert fr.output.startswith(f"Erreur : {toml} n'est pas un fichier TOML valide : "), fr.output
    en = relais(ENGLISH, "--home", str(home), "site", "list")
    assert en.output.startswith(f"Error: {toml} is not valid TOML: "), en.output
    toml.write_bytes("# réglages\n".encode("latin-1") + good.encode())  # saved as Latin-1
    fr = relais(FRENCH, "--home", str(home), "site", "list")
    assert fr.exit_code == 1, fr.output  # one line naming the file, not a traceback
    assert fr.output.startswith(f"Erreur : {toml} n'est pas un fichier TOML valide : "), fr.output


def test_a_relay_without_its_broker_says_so_in_french(tmp_path: Path) -> None:
    """The broker not started yet (or another port in relais.toml): the relay's one line."""
    home = tmp_path / "home"
    assert relais(ENGLISH, "--home", str(home), "init").exit_code == 0
    fr = relais(FRENCH, "--home", str(home), "relay")
    assert fr.exit_code == 1
    assert re.fullmatch(r"Erreur : le relais n'a pas pu se connecter au broker sur "
                        r"127\.0\.0\.1:\d+ en tant que _relay-1\n", fr.output), fr.output


def test_a_services_refusals_in_the_consoles_french_and_as_ever_in_english(tmp_path: Path) -> None:
    """The services refuse in English with a code; in French the command line says what the
    console says for it."""
    home = str(tmp_path / "home")
    assert relais(ENGLISH, "--home", home, "init").exit_code == 0
    assert relais(ENGLISH, "--home", home, "site", "add", "Nord").exit_code == 0
    for args, french, english in (
            (["site", "add", "Nord"], "Un site de ce nom existe déjà.",
             "A site named 'Nord' already exists."),
            (["site", "timezone", "Sud", "Europe/Paris"], "Ce site n’existe pas.",
             "No site named 'Sud'."),
            (["site", "timezone", "Nord", "Mars/Base"],
             "Un fuseau horaire est un nom comme Europe/Paris.",
             "A time zone is a name such as Europe/Paris."),
            (["terminal", "add", "Bad Name", "--site", "Nord"],
             "Un nom de borne compte 1 à 32 lettres minuscules, chiffres ou tirets.",
             "A terminal name is 1-32 lower-case letters, digits or dashes."),
            (["terminal", "add", "t1", "--site", "Sud"], "Ce site n’existe pas.",
             "No site named 'Sud'."),
            (["demo-data", "--password", "abc"],
             "Un mot de passe de la console a au moins 8 caractères.",
             "A console password has at least 8 characters."),
            (["export-person", "99", str(tmp_path / "out.zip")],
             "salarié 99 : Cette personne n’existe pas.", "employee 99: No employee has this number.")):
        fr = relais(FRENCH, "--home", home, *args)
        assert (fr.exit_code, fr.output) == (1, f"Erreur : {french}\n"), args
        en = relais(ENGLISH, "--home", home, *args)
        assert (en.exit_code, en.output) == (1, f"Error: {english}\n"), args


def test_a_console_user_is_asked_for_a_password_in_french(tmp_path: Path) -> None:
    home = str(tmp_path / "home")
    assert relais(ENGLISH, "--home", home, "init").exit_code == 0
    fr = relais(FRENCH, "--home", home, "user", "add", "bob", "--role", "hr",
                input="secret-pw-1\nsecret-pw-1\n")
    assert fr.exit_code == 0, fr.output
    assert fr.output == ("Mot de passe: \nRépétez pour confirmer: \n"
                         "utilisateur de la console bob (hr) créé\n")
    fr = relais(FRENCH, "--home", home, "user", "add", "bob", "--role", "hr",
                input="secret-pw-1\nsecret-pw-1\n")
    assert fr.output.splitlines()[-1] == \
        "Erreur : Un utilisateur de la console porte déjà cet identifiant."
    en = relais(ENGLISH, "--home", home, "user", "add", "ann", "--role", "hr",
                input="secret-pw-1\nsecret-pw-1\n")
    assert en.output == "Password: \nRepeat for confirmation: \nconsole user ann (hr) created\n"


def test_the_installed_command_speaks_the_shell_language() -> None:
    """The real entry point in a process of its own, as the IT person runs it."""
    exe = Path(sys.executable).with_name("relais")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "hr_console.cli"]
    for env, usage, missing in (
            (FRENCH, "Usage : relais", "Erreur : Argument manquant 'NAME'."),
            (ENGLISH, "Usage: relais", "Error: Missing argument 'NAME'.")):
        run_env = {**os.environ, **env}
        shown = subprocess.run([*command, "--help"], env=run_env, capture_output=True,
                               text=True, timeout=60)
        assert shown.returncode == 0 and shown.stdout.startswith(usage), shown.stderr
        bad = subprocess.run([*command, "site", "add"], env=run_env, capture_output=True,
                             text=True, timeout=60)
        assert bad.returncode == 2 and bad.stderr.splitlines()[-1] == missing


def test_a_stale_missing_or_damaged_catalogue_never_stops_a_command(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An install whose .mo is older than its .po (or gone): compiled for the command alone,
    in a folder of its own that goes with it (nothing written in the install, nor in a cache
    another account could fill beforehand); a damaged .mo (empty, as a power cut can leave
    it): English, read before the first message rather than failing at it."""
    tree = tmp_path / "translations"
    shutil.copytree(PO.parent.parent.parent, tree)
    mo = tree / "fr/LC_MESSAGES/messages.mo"
    mo.unlink()
    monkeypatch.setattr(i18n, "TRANSLATIONS", tree)
    monkeypatch.setattr(i18n, "_OWN", None)
    cache = tmp_path / "cache"
    fr = relais({**FRENCH, "XDG_CACHE_HOME": str(cache), "HOME": str(tmp_path)}, "--help")
    assert fr.exit_code == 0 and "Afficher ce message et quitter." in fr.output
    assert not mo.exists() and not cache.exists()  # nothing written in the install or a cache
    own = i18n._OWN
    assert own is not None and (own / "fr/LC_MESSAGES/messages.mo").is_file()
    assert own.stat().st_uid == os.geteuid() and own.stat().st_mode & 0o022 == 0  # its own
    mo.write_bytes(b"")  # damaged, and newer than the .po: taken as the install's
    for damaged in (b"", b"\xde\x12\x04\x95" + bytes(24)):
        mo.write_bytes(damaged)
        fr = relais(FRENCH, "site", "add")
        assert fr.exit_code == 2 and "Missing argument" in fr.output, fr.output


def cli_msgids() -> dict[str | tuple[str, str], str]:
    """What hr_console/cli marks for translation (as `make extract` finds it) -> its file."""
    keywords = {**DEFAULT_KEYWORDS, "_l": None}
    return {msgid: file for file, _line, msgid, _c, _ctx in
            extract_from_dir(str(CLI), keywords=keywords) if msgid}


def placeholders(text: str) -> list[str]:
    return sorted(re.findall(r"\{[^{}]*\}", text))


def test_every_string_of_the_command_line_has_its_french() -> None:
    """With the same placeholders: a French text naming another one would fail at run time."""
    with PO.open("rb") as fh:
        catalog = read_po(fh)
    used = cli_msgids()
    assert len(used) > 200
    missing, wrong = [], []
    for msgid in sorted(used, key=str):
        ids = [msgid] if isinstance(msgid, str) else list(msgid)
        m = catalog.get(ids[0])
        strings = [] if m is None else [m.string] if isinstance(m.string, str) else list(m.string)
        if m is None or m.fuzzy or not strings or not all(strings):
            missing.append(msgid)
            continue
        for text in strings:
            if placeholders(text) not in [placeholders(i) for i in ids]:
                wrong.append((msgid, text))
    assert missing == [], f"no French for (add it to {PO.relative_to(ROOT)}): {missing}"
    assert wrong == [], f"French with other placeholders than the English: {wrong}"


def test_clicks_own_words_are_listed_as_click_spells_them() -> None:
    """A click upgrade that rewords one leaves it English: this says which."""
    import click as click_pkg

    click_ids = {msgid for _f, _l, msgid, _c, _ctx in
                 extract_from_dir(str(Path(click_pkg.__file__).parent),
                                  keywords=DEFAULT_KEYWORDS) if msgid}
    listed = {msgid for msgid, file in cli_msgids().items() if file == "i18n.py"}
    assert len(listed) > 50
    ours = {"{heading}:"}  # i18n.py's own: a heading's colon
    by_variable = {"required"}  # click: _(extra["required"])
    assert sorted(listed - click_ids - ours - by_variable, key=str) == []
    core = (Path(click_pkg.__file__).parent / "core.py").read_text(encoding="utf-8")
    assert '_(extra["required"])' in core and 'extra["required"] = "required"' in core


def test_every_help_text_is_marked_for_translation() -> None:
    """A command or option help written without ``_l`` (or as a docstring) would stay
    English: every one shown by `relais ... --help` is a marked string."""
    marked = {m for m in cli_msgids() if isinstance(m, str)}
    unmarked = []

    def walk(command: click.Command, path: str) -> None:
        assert isinstance(command, i18n._Translated), path  # translated when rendered
        if command._help and command._help not in marked:
            unmarked.append(path)
        for param in command.params:
            if isinstance(param, click.Option) and param.help and param.help not in marked:
                unmarked.append(f"{path} {param.opts[-1]}")
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                walk(sub, f"{path} {name}")

    walk(main, "relais")
    assert unmarked == []


def test_the_command_line_calls_its_helper_with_literal_strings_only() -> None:
    """`_(f"...")` or `_(variable)` cannot be looked up in the catalogue: always English.
    (i18n.py itself translates help texts, marked where they are written, when shown.)"""
    bad = []
    for path in sorted(set(CLI.glob("*.py")) - {CLI / "i18n.py"}):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                    and node.func.id in ("_", "_l", "N_") and not (
                        len(node.args) == 1 and isinstance(node.args[0], ast.Constant)
                        and isinstance(node.args[0].value, str)):
                bad.append(f"{path.name}:{node.lineno}")
    assert bad == []


def test_a_clustered_brokers_mistakes_in_french_and_as_ever_in_english(tmp_path: Path) -> None:
    """`relais ejabberd ...` (docs/deploy.md's cluster recipe), mistakes the IT person can make
    before any Erlang runs: each one line in the shell's language, the English as it was."""
    import socket

    from broker_config.ejabberd import new_cookie
    from broker_config.ports import free_port

    home = str(tmp_path / "home")
    assert relais(ENGLISH, "--home", home, "init").exit_code == 0
    cookie = tmp_path / "cookie"
    cookie.write_text(new_cookie() + "\n")
    short = tmp_path / "short-cookie"
    short.write_text("abc\n")
    node = tmp_path / "node-a"

    def options(name: str = "relais-a@localhost", mqtt: str = "21883",
                cookie_file: Path = cookie) -> list[str]:
        return ["--node", name, "--dir", str(node), "--mqtt-port", mqtt, "--epmd-port", "24369",
                "--cookie-file", str(cookie_file)]

    for args, french, english in (
            (["render", *options(name="relais-a")],
             "un nom de nœud Erlang ressemble à relais-a@localhost, pas à 'relais-a'",
             "an Erlang node name looks like relais-a@localhost, not 'relais-a'"),
            (["render", *options(mqtt="70000")],
             "mqtt_port doit être un port TCP (1-65535), pas 70000",
             "mqtt_port must be a TCP port (1-65535), got 70000"),
            (["render", *options(cookie_file=short)],
             "le cookie de la grappe doit compter au moins 20 lettres ou chiffres",
             "the cookie must be at least 20 letters or digits (new_cookie())"),
            (["kick", *options(), "Poste 1!"],
             "ce n'est pas un nom de compte du broker : 'Poste 1!'",
             "not a broker account name: 'Poste 1!'")):
        fr = relais(FRENCH, "--home", home, "ejabberd", *args)
        assert fr.exit_code == 1 and fr.output == f"Erreur : {french}\n", fr.output
        en = relais(ENGLISH, "--home", home, "ejabberd", *args)
        assert en.exit_code == 1 and en.output == f"Error: {english}\n", en.output
    missing = tmp_path / "no-cookie"
    fr = relais(FRENCH, "--home", home, "ejabberd", "render", *options(cookie_file=missing))
    assert fr.exit_code == 1
    assert fr.output.startswith(f"Erreur : impossible de lire le cookie de la grappe dans "
                                f"{missing} : "), fr.output
    assert not node.exists()  # nothing written for a node it refused
    # The node's MQTT port held by something else: said before any Erlang is started.
    port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        fr = relais(FRENCH, "--home", home, "ejabberd", "run", *options(mqtt=str(port)))
        assert fr.exit_code == 1 and fr.output == f"Erreur : le port {port} est déjà pris\n", \
            fr.output
        en = relais(ENGLISH, "--home", home, "ejabberd", "run", *options(mqtt=str(port)))
        assert en.output == f"Error: port {port} is already taken\n", en.output


def test_a_kiosk_configurations_mistakes_in_french_and_as_ever_in_english(tmp_path: Path) -> None:
    """The IT person edits a terminal's config.json (a typo, a wrong name, a file that is not
    there): `relais kiosk` says which setting and why in the shell's language, before Kivy."""
    import json

    config = tmp_path / "config.json"
    good = {"terminal": "quai-2", "password": "x" * 20, "mqtt_host": "127.0.0.1",
            "mqtt_port": 8883}
    for change, french, english in (
            ({"idle_timout": 90},
             "réglage(s) du poste inconnu(s) : idle_timout",
             "unknown kiosk setting(s): idle_timout"),
            ({"terminal": "Quai 2"},
             "terminal : un nom de terminal compte 1 à 32 lettres minuscules, chiffres ou "
             "tirets, et commence par une lettre ou un chiffre, pas 'Quai 2'",
             "terminal: invalid terminal name 'Quai 2': use 1-32 lower-case letters, digits or "
             "dashes, starting with a letter or digit"),
            ({"mqtt_port": "8883"},
             "le réglage du poste 'mqtt_port' n'a pas le bon type",
             "the kiosk setting 'mqtt_port' has the wrong type"),
            ({"width": 200},
             "width et height doivent valoir au moins 320x240",
             "width and height must be at least 320x240")):
        config.write_text(json.dumps({**good, **change}), encoding="utf-8")
        fr = relais(FRENCH, "kiosk", "--config", str(config))
        assert fr.exit_code == 1 and fr.output == f"Erreur : {french}\n", fr.output
        en = relais(ENGLISH, "kiosk", "--config", str(config))
        assert en.exit_code == 1 and en.output == f"Error: {english}\n", en.output
    missing = tmp_path / "nowhere.json"
    fr = relais(FRENCH, "kiosk", "--config", str(missing))
    assert fr.output == f"Erreur : pas de configuration de poste dans {missing}\n", fr.output
    fr = relais(FRENCH, "kiosk-enrol", "http://192.0.2.7:8470", "ABCD-1234", "--out",
                str(tmp_path / "enrol"))
    assert fr.exit_code == 1 and fr.output.startswith(
        "Erreur : enrôlement refusé hors HTTPS au-delà de cette machine"), fr.output
    assert not (tmp_path / "enrol").exists()
