"""The kiosk's HTTP client for the console's kiosk API (/api/kiosk/v1): enrolment with a
one-time code, then history pages, photos and notices for the person badged in, and the
site notices the idle screen shows to anyone.

No Kivy, no server code: the screens call this from a worker thread. Every failure is a
``KioskApiError`` with a stable ``code`` the UI translates (``unauthorised``, ``bad_code``,
``code_expired``, ``not_found``, ``rate_limited``, ``unreachable``, ...) and an English
``message``.
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import quote, urlsplit

import requests

API_PREFIX = "/api/kiosk/v1"
SESSION_HEADER = "X-Relais-Session"
DEFAULT_TIMEOUT = 10.0
MAX_MEDIA_BYTES = 2 * 1024 * 1024  # a normalised photo is far below this


class KioskApiError(Exception):
    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


def _url(base_url: str, path: str) -> str:
    return base_url.rstrip("/") + API_PREFIX + path


def _verify(ca_file: str | None) -> bool | str:
    return ca_file if ca_file else True


def _raise_for(resp: requests.Response) -> None:
    if resp.ok:
        return
    try:
        body = resp.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("code"), str):
        raise KioskApiError(body["code"], str(body.get("message", "")), resp.status_code)
    raise KioskApiError(f"http_{resp.status_code}", resp.reason or "HTTP error", resp.status_code)


def _json(resp: requests.Response) -> Any:
    _raise_for(resp)
    try:
        return resp.json()
    except ValueError:
        raise KioskApiError("bad_response", "The server did not answer in JSON.",
                            resp.status_code) from None


def _call(session: requests.Session | None, method: str, url: str, **kwargs: Any) -> requests.Response:
    try:
        if session is not None:
            return session.request(method, url, **kwargs)
        return requests.request(method, url, **kwargs)
    except requests.Timeout:
        raise KioskApiError("timeout", "The server did not answer in time.") from None
    except requests.RequestException as exc:
        raise KioskApiError("unreachable", f"The server cannot be reached ({type(exc).__name__}).") from None


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_enrol_url(base_url: str) -> None:
    """Refuse to enrol over plain HTTP beyond this machine: the answer carries the
    terminal's password and the CA it will trust, which anyone on the way could read or
    swap. Loopback (the demo, tests) is the one exception."""
    parts = urlsplit(base_url)
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and _is_loopback(parts.hostname or ""):
        return
    raise KioskApiError(
        "insecure_url",
        f"refusing to enrol over {parts.scheme or 'an unknown scheme'}:// (the answer carries "
        f"the terminal's password and the CA it will trust): use the console's https:// "
        f"address, with --ca FILE if its certificate comes from your own CA")


def enrol(base_url: str, code: str, name: str | None = None, *, timeout: float = DEFAULT_TIMEOUT,
          ca_file: str | None = None) -> dict[str, Any]:
    """Exchange a one-time enrolment code for this terminal's credentials:
    ``{terminal, username, password, mqtt_host, mqtt_port, tls, tls_ca_pem?}``. Only over
    HTTPS, or plain HTTP on loopback (``check_enrol_url``)."""
    check_enrol_url(base_url)
    payload: dict[str, Any] = {"code": code}
    if name:
        payload["name"] = name
    resp = _call(None, "POST", _url(base_url, "/enrol"), json=payload, timeout=timeout,
                 verify=_verify(ca_file))
    data = _json(resp)
    if not isinstance(data, dict) or not {"username", "password"} <= data.keys():
        raise KioskApiError("bad_response", "The enrolment answer lacks the credentials.",
                            resp.status_code)
    return data


class KioskApi:
    """Calls made as an enrolled terminal (HTTP Basic with its name and password)."""

    def __init__(self, base_url: str, terminal: str, password: str,
                 timeout: float = DEFAULT_TIMEOUT, *, ca_file: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.terminal = terminal
        self.timeout = timeout
        self._http = requests.Session()
        self._http.auth = (terminal, password)
        self._http.verify = _verify(ca_file)
        self._http.headers["Accept"] = "application/json"

    # The enrolment call needs no credentials yet.
    enrol = staticmethod(enrol)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> KioskApi:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _get(self, path: str, sid: str, **params: Any) -> requests.Response:
        if not sid:
            raise KioskApiError("no_session", "Nobody is badged in on this terminal.")
        return _call(self._http, "GET", _url(self.base_url, path), headers={SESSION_HEADER: sid},
                     params={k: v for k, v in params.items() if v is not None},
                     timeout=self.timeout)

    def history(self, sid: str, with_id: int, before: str | None = None,
                limit: int | None = None) -> dict[str, Any]:
        """One page of the conversation with ``with_id``: ``{messages (oldest first), more,
        before}``; pass ``before`` back to get the page before it."""
        return _json(self._get("/history", sid, before=before, limit=limit, **{"with": with_id}))

    def media(self, sid: str, msg: str) -> bytes:
        """The JPEG of a photo message the badged-in person sent or received."""
        resp = self._get(f"/media/{quote(msg, safe='')}", sid)
        return self._image(resp)

    def notice_photo(self, sid: str, notice: str) -> bytes:
        resp = self._get(f"/notices/{quote(notice, safe='')}/photo", sid)
        return self._image(resp)

    def notices(self, sid: str) -> list[dict[str, Any]]:
        data = _json(self._get("/notices", sid))
        notices = data.get("notices") if isinstance(data, dict) else None
        if not isinstance(notices, list):
            raise KioskApiError("bad_response", "The notices answer is not a list.")
        return notices

    def site_notices(self) -> list[dict[str, Any]]:
        """The idle screen's board, asked as the terminal alone (nobody badged in): the
        current notices for this terminal's site or for everyone, newest first, each
        ``{uid, title, urgent, excerpt}``. Entries that are not of that shape are dropped."""
        resp = _call(self._http, "GET", _url(self.base_url, "/site-notices"), timeout=self.timeout)
        data = _json(resp)
        items = data.get("notices") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise KioskApiError("bad_response", "The site notices answer is not a list.")
        out = []
        for item in items:
            if not isinstance(item, dict):
                continue
            uid, title = item.get("uid"), item.get("title")
            if not isinstance(uid, str) or not isinstance(title, str) or not title.strip():
                continue
            excerpt = item.get("excerpt")
            out.append({"uid": uid, "title": title.strip(), "urgent": item.get("urgent") is True,
                        "excerpt": excerpt if isinstance(excerpt, str) else ""})
        return out

    @staticmethod
    def _image(resp: requests.Response) -> bytes:
        _raise_for(resp)
        if resp.headers.get("Content-Type", "").split(";")[0].strip() != "image/jpeg":
            raise KioskApiError("bad_response", "The server did not send a JPEG.", resp.status_code)
        data = resp.content
        if len(data) > MAX_MEDIA_BYTES:
            raise KioskApiError("bad_response", "The photo is larger than any photo can be.",
                                resp.status_code)
        return data
