# Two commands for a newcomer: `make run` and `make test`. Everything they need is installed here.
PY        ?= python3
VENV      := .venv
BIN       := $(VENV)/bin
STAMP     := $(VENV)/.installed
HOME_DIR  ?= var
SYS_PKGS  := mosquitto mosquitto-clients mosquitto-dev libmosquitto-dev gcc xvfb xauth chromium libmtdev1 espeak-ng
# test-long only: the real nginx the deployment guide's test puts in front of the console, and
# ejabberd for the clustered-broker test (its packaged service is disabled: the test runs
# private nodes, and the packaged one would want port 1883 and its own epmd).
SYS_PKGS_LONG := nginx-light ejabberd
# make bench only: the peer the relay is compared with (Prosody, mod_mam archiving to SQLite).
SYS_PKGS_BENCH := prosody lua-dbi-sqlite3
APT_SUDO  := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test test-long bench lint catalogues extract screenshots screenshots-console screenshots-kiosk \
        reliability-report sysdeps sysdeps-long sysdeps-bench venv clean

# Compiled catalogues are build output (ignored by git): one .mo per .po, remade when its .po
# is newer. A program that finds one missing or stale compiles it itself, into its home
# (console) or in memory (kiosk), never into its install: hr_console/catalogues.py.
# One catalogue for the console, one per language for the kiosk (docs/translating.md).
CONSOLE_TR := hr_console/web/translations
PO := $(sort $(wildcard $(CONSOLE_TR)/*/LC_MESSAGES/*.po kiosk_app/ui/locales/*/LC_MESSAGES/*.po))
MO := $(PO:.po=.mo)

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[server,kiosk,dev]'
	touch $(STAMP)

venv: $(STAMP) catalogues

%.mo: %.po | $(STAMP)
	$(BIN)/pybabel -q compile -i $< -o $@

# OS packages: the broker, its command-line clients (used by the ACL tests), what builds its
# subscription check (a C compiler and Mosquitto's headers: broker_config/plugin.py), a virtual
# display for the kiosk tests, mtdev for Kivy on touch screens and Debian's Chromium for the browser tests.
sysdeps:
	@missing=""; for p in $(SYS_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing OS packages:$$missing"; \
	  $(APT_SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(APT_SUDO) apt-get install -y -qq $$missing; \
	fi

# For test-long, on top of sysdeps; a test whose package could not be installed skips, saying why.
sysdeps-long: sysdeps
	@missing=""; for p in $(SYS_PKGS_LONG); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing OS packages for test-long:$$missing"; \
	  { $(APT_SUDO) apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $(APT_SUDO) apt-get install -y -qq $$missing; } \
	    || echo "Could not install$$missing: the tests that need it will skip"; \
	  { $(APT_SUDO) systemctl disable --now ejabberd || { $(APT_SUDO) service ejabberd stop; \
	    $(APT_SUDO) update-rc.d ejabberd disable; }; } >/dev/null 2>&1 || true; \
	fi

# For make bench, on top of sysdeps; without them the peer row says it was not measured, and why.
# The bench runs its own Prosody (private config and data in a temporary directory, free port).
sysdeps-bench: sysdeps
	@missing=""; for p in $(SYS_PKGS_BENCH); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing OS packages for bench:$$missing"; \
	  { $(APT_SUDO) apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $(APT_SUDO) apt-get install -y -qq $$missing; } \
	    || echo "Could not install$$missing: the peer row will say it was not measured"; \
	fi

run: sysdeps venv
	$(BIN)/relais --home $(HOME_DIR) up --demo

test: sysdeps venv
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/pytest -n 2 --dist loadfile

test-long: sysdeps-long venv
	$(BIN)/pytest -m long

# About 14 minutes on 2 cores (a full run took 950 s with the shift change's reference run, now
# in --long only: ~850 s; docs/benchmarks.md gives each part's duration); needs root for
# the CPU-capped relays' cgroups, and PostgreSQL (RELAIS_TEST_PG_URL or the local server).
bench: sysdeps-bench venv
	$(BIN)/relais bench

lint: venv
	$(BIN)/ruff check .
	$(BIN)/lint-imports

catalogues: $(MO)

# The catalogues brought in step with the code and templates (babel.cfg): new strings come in
# untranslated (or fuzzy, from a close old one), unused ones go; tests fail until every string
# has its translation (docs/translating.md).
UPDATE := update --ignore-pot-creation-date --ignore-obsolete
extract: venv
	mkdir -p build
	$(BIN)/pybabel -q extract -F babel.cfg -k _l --add-location file -o build/messages.pot hr_console
	$(BIN)/pybabel -q $(UPDATE) -i build/messages.pot -d $(CONSOLE_TR)
	$(BIN)/pybabel -q extract -F babel.cfg --add-location file -o build/kiosk.pot kiosk_app/ui
	$(BIN)/pybabel -q $(UPDATE) -i build/kiosk.pot -d kiosk_app/ui/locales -D kiosk
	@echo "Now translate every empty or fuzzy entry of $(PO)"

# What a person reads that the tests produce: they write it under build/ (ignored), and only
# these targets copy it into docs/, so `make test` leaves the tree as it found it.
# screenshots-kiosk walks every kiosk screen at both sizes under Xvfb (several minutes).
screenshots: screenshots-console screenshots-kiosk

screenshots-console: sysdeps venv
	rm -rf build/screenshots/console
	$(BIN)/pytest tests/browser/test_screenshots.py tests/browser/test_group_walk.py \
		tests/browser/test_charter_walk.py tests/browser/test_rights_walk.py \
		tests/browser/test_council_report.py
	mkdir -p docs/screenshots/console
	cp build/screenshots/console/*.png docs/screenshots/console/

screenshots-kiosk: sysdeps venv
	rm -rf build/screenshots/kiosk
	$(BIN)/pytest -m long "tests/kiosk/test_ui_walk.py::test_full_walk_with_screenshots"
	$(BIN)/pytest tests/kiosk/test_supervisor_walk.py  # kiosk-*-supervisor-*.png
	$(BIN)/pytest tests/kiosk/test_charter_walk.py  # kiosk-*-charter-*.png
	$(BIN)/pytest tests/kiosk/test_listen_walk.py  # kiosk-*-listen-*.png
	$(BIN)/pytest tests/kiosk/test_voice_walk.py  # kiosk-*-voice-*.png
	$(BIN)/pytest tests/kiosk/test_alert_walk.py  # build/screenshots/kiosk-alert/
	$(BIN)/pytest tests/kiosk/test_many_walk.py  # build/screenshots/kiosk-many/
	mkdir -p docs/screenshots/kiosk
	rm -f docs/screenshots/kiosk/kiosk-*.png
	cp build/screenshots/kiosk/* docs/screenshots/kiosk/
	cp build/screenshots/kiosk-alert/kiosk-*-alert-photo.png docs/screenshots/kiosk/
	cp build/screenshots/kiosk-many/kiosk-*-many-*.png docs/screenshots/kiosk/
	$(BIN)/python -c "from pathlib import Path; from tests.kiosk.test_ui_walk import write_index; \
		write_index(Path('docs/screenshots/kiosk'))"

# The chaos and security sections of docs/reliability.md. The long chaos variants keep their
# last figures (the report starts from docs/reliability.md); LONG=1 runs them too.
reliability-report: sysdeps venv
	rm -f build/reliability.md
	$(BIN)/pytest tests/chaos tests/security $(if $(LONG),-m "long or not long")
	cp build/reliability.md docs/reliability.md

clean:
	rm -rf $(VENV) $(HOME_DIR) build $(MO)
