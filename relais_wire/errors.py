"""The one error the wire contract raises, in a module of its own so that the envelope and
the drawing format (which the envelope validates) both import it without importing each other."""

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
