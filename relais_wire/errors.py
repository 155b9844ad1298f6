"""The error the wire contract raises, in a module of its own so that the envelope and the
drawing format (which the envelope validates) both import it without importing each other;
and the base of every failure a person reads through an entry point (the command line, the
console): a stable code that entry point words in its user's language."""

from __future__ import annotations

from typing import Any


class WireError(ValueError):
    """A payload that breaks the contract. ``code`` is stable, ``field`` names the culprit."""

    def __init__(self, code: str, message: str, field: str | None = None, ref: str | None = None):
        super().__init__(message)
        self.code = code
        self.field = field
        self.message = message
        self.ref = ref  # the envelope id, when it could be read, so the sender can match

    def as_fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field:
            out["field"] = self.field
        if self.ref:
            out["ref"] = self.ref
        return out


class CodedError(Exception):
    """A failure an entry point words from its ``code``, with ``detail`` in the braces of
    that wording; ``message`` is the English, and ``str()`` the English then ``tail`` (a
    program's own log, shown as it is)."""

    def __init__(self, code: str, message: str, *, tail: str = "", **detail: object) -> None:
        super().__init__(message + (f"\n{tail}" if tail else ""))
        self.code = code
        self.message = message
        self.tail = tail
        self.detail = detail
