"""The kiosk's HTTP client for the console's kiosk API (/api/kiosk/v1): enrolment with a
one-time code, then history pages, photos and notices for the person badged in, and the
site notices the idle screen shows to anyone.

No Kivy, no server code: the screens call this from a worker thread. Every failure is a
``KioskApiError`` with a stable ``code`` the UI translates (``unauthorised``, ``bad_code``,
``code_expired``, ``not_found``, ``rate_limited``, ``unreachable``, ...) and an English
``message``. A connection that failed says why (``connection_error``): ``untrusted_certificate``,
``name_mismatch``, ``certificate_expired``, ``no_tls``, ``unknown_host``, ``timeout``,
``unreachable``, so ``relais kiosk-enrol`` can tell the IT person the fix.

Calls made as a terminal pass the kiosk's CA on every request: requests would otherwise let
``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` replace it.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
import socket
import ssl
import tempfile
import warnings
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlsplit

import requests
import urllib3

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
    except requests.RequestException as exc:
        raise connection_error(exc, url, kwargs.get("timeout")) from None


# OpenSSL's verification results that mean "I do not know who signed this".
_UNTRUSTED = {2, 18, 19, 20, 21, 27}
_NAME_MISMATCH, _EXPIRED, _NOT_YET_VALID = (62, 64), 10, 9  # 64: an IP address's


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """Every exception requests and urllib3 wrapped around the one that happened."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        cur = todo.pop()
        if id(cur) in seen:
            continue
        seen.add(id(cur))
        yield cur
        todo.extend(x for x in (cur.__cause__, cur.__context__, getattr(cur, "reason", None),
                                *cur.args) if isinstance(x, BaseException))


def connection_error(exc: requests.RequestException, url: str,
                     timeout: Any = None) -> KioskApiError:
    """What went wrong before the console could answer, named by its cause: a certificate
    this terminal does not trust, a name the certificate is not for, an expired certificate,
    an address that is not HTTPS, a port where nothing listens, a name that does not
    resolve, or no answer in time. The message says where; the caller adds the fix."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    where = f"{host}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
    causes = list(_causes(exc))
    for cause in causes:
        if isinstance(cause, ssl.SSLCertVerificationError):
            code = getattr(cause, "verify_code", None)
            if code in _NAME_MISMATCH:
                return KioskApiError("name_mismatch",
                                     f"the console's certificate is not valid for the name {host}")
            if code in (_EXPIRED, _NOT_YET_VALID):
                return KioskApiError("certificate_expired", "the console's certificate has "
                                     "expired or is not valid yet")
            if code in _UNTRUSTED or code is None:
                return KioskApiError("untrusted_certificate",
                                     "the console's certificate is not trusted by this terminal "
                                     "(it is signed by a CA the terminal does not know)")
            reason = getattr(cause, "verify_message", "") or str(cause)
            return KioskApiError("untrusted_certificate",
                                 f"the console's certificate was refused ({reason})")
    for cause in causes:
        if isinstance(cause, ssl.SSLError):
            text = str(cause).lower()
            if "wrong version number" in text or "record layer failure" in text:
                return KioskApiError("no_tls", f"{where} does not answer in HTTPS")
            return KioskApiError("tls_failed", f"the TLS handshake with {where} failed ({cause})")
    for cause in causes:
        if isinstance(cause, socket.gaierror):
            return KioskApiError("unknown_host", f"the name {host} cannot be resolved")
        if isinstance(cause, ConnectionRefusedError):
            return KioskApiError("unreachable", f"nothing answers at {where} (connection refused)")
    if isinstance(exc, requests.Timeout) or any(isinstance(c, TimeoutError) for c in causes):
        wait = f" within {timeout:g} s" if isinstance(timeout, int | float) else " in time"
        return KioskApiError("timeout", f"{where} did not answer{wait}")
    detail = next((str(c) for c in reversed(causes) if isinstance(c, OSError) and str(c)),
                  type(exc).__name__)
    return KioskApiError("unreachable", f"the console at {where} cannot be reached ({detail})")


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
        f"address, with --ca-fingerprint as the console shows it next to the code")


FINGERPRINT = re.compile(r"^[0-9a-f]{64}$")


def normalise_fingerprint(text: str) -> str:
    """A SHA-256 fingerprint as typed (``AB:CD:…``, with spaces, dashes, a ``SHA256``
    prefix, either case) as 64 lowercase hex digits; ``KioskApiError`` if it is not one."""
    value = text.strip().lower()
    for prefix in ("sha256 fingerprint=", "sha256:", "sha256=", "sha-256:", "sha256", "sha-256"):
        if value.startswith(prefix):
            value = value[len(prefix):]
            break
    value = re.sub(r"[\s:\-]", "", value)
    if not FINGERPRINT.match(value):
        raise KioskApiError("bad_fingerprint", "the CA fingerprint must be 64 hexadecimal digits "
                            "(SHA-256, as the console shows it)")
    return value


def _show(fingerprint: str) -> str:
    return ":".join(fingerprint[i:i + 2] for i in range(0, len(fingerprint), 2)).upper()


def _speaks_plain_http(base_url: str) -> bool:
    """Whether an https:// address that never answered is a plain-HTTP server (waitress
    waits for a request line that a TLS greeting never completes): asked once, briefly."""
    parts = urlsplit(base_url)
    if parts.scheme != "https" or parts.port is None:
        return False
    try:
        requests.get(parts._replace(scheme="http").geturl().rstrip("/") + API_PREFIX + "/",
                     timeout=3, allow_redirects=False)
    except requests.RequestException:
        return False
    return True


def _enrol_call(method: str, base_url: str, path: str, **kwargs: Any) -> requests.Response:
    """A call of the enrolment, its failures named for the person enrolling."""
    try:
        return _call(None, method, _url(base_url, path), **kwargs)
    except KioskApiError as exc:
        if exc.code == "timeout" and _speaks_plain_http(base_url):
            where = urlsplit(base_url).netloc
            raise KioskApiError("no_tls", f"{where} answers in plain HTTP, not HTTPS "
                                f"(the console's own port?)") from None
        raise


def fetch_ca(base_url: str, fingerprint: str, *, timeout: float = DEFAULT_TIMEOUT) -> str:
    """The console's CA certificate (PEM), fetched over a connection that checks nothing and
    accepted only if its SHA-256 is ``fingerprint`` (as shown in the console next to the
    code): whoever answered, a certificate with that fingerprint is the site's CA."""
    check_enrol_url(base_url)
    pinned = normalise_fingerprint(fingerprint)
    with warnings.catch_warnings():  # unverified on purpose: the fingerprint is the check
        warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
        resp = _enrol_call("GET", base_url, "/ca.pem", timeout=timeout, verify=False)
    if resp.status_code == 404:
        try:
            known = resp.json().get("code") == "no_ca"
        except (ValueError, AttributeError):
            known = False
        if known:
            raise KioskApiError("no_ca", "the console hands out no CA of its own", 404)
    _raise_for(resp)
    pem = resp.text if len(resp.content) < 64 * 1024 else ""
    try:
        der = ssl.PEM_cert_to_DER_cert(pem.strip() + "\n")
    except ValueError:
        raise KioskApiError("bad_response", "the console did not send a CA certificate",
                            resp.status_code) from None
    got = hashlib.sha256(der).hexdigest()
    if got != pinned:
        raise KioskApiError("fingerprint_mismatch", f"the CA the console sent has the "
                            f"fingerprint {_show(got)}, not the one given")
    return ssl.DER_cert_to_PEM_cert(der)


def enrol(base_url: str, code: str, name: str | None = None, *, timeout: float = DEFAULT_TIMEOUT,
          ca_file: str | None = None, ca_fingerprint: str | None = None) -> dict[str, Any]:
    """Exchange a one-time enrolment code for this terminal's credentials:
    ``{terminal, username, password, mqtt_host, mqtt_port, tls, timezone?, tls_ca_pem?}``.
    Only over HTTPS, or plain HTTP on loopback (``check_enrol_url``). With
    ``ca_fingerprint``, the CA is first fetched and checked (``fetch_ca``), the exchange is
    verified against it, and the answer's ``ca_pem`` is that CA."""
    check_enrol_url(base_url)
    payload: dict[str, Any] = {"code": code}
    if name:
        payload["name"] = name
    pinned_pem = fetch_ca(base_url, ca_fingerprint, timeout=timeout) if ca_fingerprint else None
    with tempfile.TemporaryDirectory(prefix="relais-enrol-") as tmp:
        verify: bool | str = _verify(ca_file)
        if pinned_pem is not None:
            verify = os.path.join(tmp, "ca.pem")
            with open(verify, "w", encoding="ascii") as fh:
                fh.write(pinned_pem)
        resp = _enrol_call("POST", base_url, "/enrol", json=payload, timeout=timeout,
                           verify=verify)
    data = _json(resp)
    if not isinstance(data, dict) or not {"username", "password"} <= data.keys():
        raise KioskApiError("bad_response", "The enrolment answer lacks the credentials.",
                            resp.status_code)
    if pinned_pem is not None:
        data["ca_pem"] = pinned_pem
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
        # Given on every call, never left to the session: requests lets REQUESTS_CA_BUNDLE /
        # CURL_CA_BUNDLE replace a session's CA, so a variable in the terminal's environment
        # would make the kiosk trust another CA than its own (or stop trusting its own).
        self._verify = _verify(ca_file)
        self._http.verify = self._verify
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
                     timeout=self.timeout, verify=self._verify)

    def history(self, sid: str, with_id: int = 0, before: str | None = None,
                limit: int | None = None, *, group: int = 0) -> dict[str, Any]:
        """One page of the conversation with ``with_id`` (or of the workgroup ``group``):
        ``{messages (oldest first), more, before}``; pass ``before`` back to get the page
        before it."""
        where = {"group": group} if group else {"with": with_id}
        data = _json(self._get("/history", sid, before=before, limit=limit, **where))
        if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
            raise KioskApiError("bad_response", "The history answer lacks its messages.")
        return data

    def find_contacts(self, sid: str, q: str) -> tuple[list[dict[str, Any]], int]:
        """People the badged-in person may write to whose name holds ``q``, as the sync
        lists contacts (``{id, name, team, hr}``, ``off_shift`` and ``from`` when only their
        shift opens them), the first few by name, and how many match in all. For a contact
        list the sync had to cut (``contacts_more``). Entries of another shape are dropped."""
        data = _json(self._get("/contacts", sid, q=q))
        items = data.get("contacts") if isinstance(data, dict) else None
        total = data.get("total") if isinstance(data, dict) else None
        if not isinstance(items, list) or not isinstance(total, int):
            raise KioskApiError("bad_response", "The search answer lacks its contacts.")
        found = [c for c in items if isinstance(c, dict) and isinstance(c.get("id"), int)
                 and c["id"] > 0 and isinstance(c.get("name"), str)]
        return found, max(total, len(found))

    def media(self, sid: str, msg: str) -> bytes:
        """The JPEG of a photo message the badged-in person sent or received."""
        resp = self._get(f"/media/{quote(msg, safe='')}", sid)
        return self._image(resp)

    def clip(self, sid: str, msg: str) -> bytes:
        """The Ogg clip of a voice message the badged-in person sent or received."""
        resp = self._get(f"/media/{quote(msg, safe='')}", sid)
        _raise_for(resp)
        if resp.headers.get("Content-Type", "").split(";")[0].strip() != "audio/ogg":
            raise KioskApiError("bad_response", "The server did not send a voice clip.",
                                resp.status_code)
        if len(resp.content) > MAX_MEDIA_BYTES:
            raise KioskApiError("bad_response", "The clip is larger than any clip can be.",
                                resp.status_code)
        return resp.content

    def notice_photo(self, sid: str, notice: str) -> bytes:
        resp = self._get(f"/notices/{quote(notice, safe='')}/photo", sid)
        return self._image(resp)

    def notices(self, sid: str) -> list[dict[str, Any]]:
        data = _json(self._get("/notices", sid))
        notices = data.get("notices") if isinstance(data, dict) else None
        if not isinstance(notices, list):
            raise KioskApiError("bad_response", "The notices answer is not a list.")
        return notices

    def my_notices(self, sid: str) -> list[dict[str, Any]]:
        """A team lead's notices, newest first: ``{uid, title, urgent, ack_required, status,
        target: {kind, name, team}, author, mine, created_at, counts: {audience, reached,
        seen, acknowledged}}``. Empty for anyone who leads no team and wrote none."""
        data = _json(self._get("/my-notices", sid))
        items = data.get("notices") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise KioskApiError("bad_response", "The notices answer is not a list.")
        return [n for n in items if isinstance(n, dict) and isinstance(n.get("uid"), str)]

    def my_notice(self, sid: str, uid: str) -> dict[str, Any]:
        """One of ``my_notices`` with ``people`` (``{name, team, state, done}``, those still
        to read or acknowledge first), ``pending``, ``done`` and ``may_remind``."""
        data = _json(self._get(f"/my-notices/{quote(uid, safe='')}", sid))
        if not isinstance(data, dict) or not isinstance(data.get("people"), list):
            raise KioskApiError("bad_response", "The notice answer lacks its people.")
        return data

    def site_notices(self) -> list[dict[str, Any]]:
        """The idle screen's board, asked as the terminal alone (nobody badged in): the
        current notices for this terminal's site or for everyone, newest first, each
        ``{uid, title, urgent, excerpt}``. Entries that are not of that shape are dropped."""
        return self.site_board()[0]

    def site_board(self) -> tuple[list[dict[str, Any]], bool]:
        """``site_notices`` and, from the same answer, whether HR lets the idle screen raise
        a safety alert without a badge-in (``alert_on_idle``; anything but ``true``, or no
        such field from an older console, is no)."""
        resp = _call(self._http, "GET", _url(self.base_url, "/site-notices"), timeout=self.timeout,
                     verify=self._verify)
        data = _json(resp)
        items = data.get("notices") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise KioskApiError("bad_response", "The site notices answer is not a list.")
        return self._board_notices(items), data.get("alert_on_idle") is True

    @staticmethod
    def _board_notices(items: list[Any]) -> list[dict[str, Any]]:
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
