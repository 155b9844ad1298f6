"""Errors a use case raises for the entry point to turn into a reply. ``code`` is stable and
is what the kiosk and the console translate; ``message`` is the English fallback."""


class ServiceError(Exception):
    def __init__(self, code: str, message: str, **detail: object) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.detail = detail


class NotFound(ServiceError):
    pass


class Conflict(ServiceError):
    pass


class Invalid(ServiceError):
    pass
