"""The kiosk's HTTP API under /api/kiosk/v1: JSON, no cookies, no console roles. A terminal
enrols with a one-time code, then authenticates every call with HTTP Basic (its name and
password); calls about a person also name the badge session (X-Relais-Session)."""

from hr_console.web.kiosk_api.routes import bp

exempt_csrf = True  # no browser, no cookies: nothing for a cross-site request to ride on

__all__ = ["bp", "exempt_csrf"]
