# Two commands for a newcomer: `make run` and `make test`. Everything they need is installed here.
PY        ?= python3
VENV      := .venv
BIN       := $(VENV)/bin
STAMP     := $(VENV)/.installed
HOME_DIR  ?= var
SYS_PKGS  := mosquitto mosquitto-clients xvfb xauth chromium libmtdev1
# test-long only: the real nginx the deployment guide's test puts in front of the console, and
# ejabberd for the clustered-broker test (its packaged service is disabled: the test runs
# private nodes, and the packaged one would want port 1883 and its own epmd).
SYS_PKGS_LONG := nginx-light ejabberd
# make bench only: the peer the relay is compared with (Prosody, mod_mam archiving to SQLite).
SYS_PKGS_BENCH := prosody lua-dbi-sqlite3
APT_SUDO  := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test test-long bench lint catalogues sysdeps sysdeps-long sysdeps-bench venv clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[server,kiosk,dev]'
	touch $(STAMP)

venv: $(STAMP)

# OS packages: the broker, its command-line clients (used by the ACL tests), a virtual
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
	$(BIN)/pytest

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

# The compiled catalogues (.mo) live beside their .po in the tree and ship as they are, so the
# console and the kiosk only read them: run this after editing a .po (a test says when it is due).
catalogues: venv
	$(BIN)/python -m hr_console.catalogues

clean:
	rm -rf $(VENV) $(HOME_DIR)
