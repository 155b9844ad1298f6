"""Errors a use case raises for the entry point to turn into a reply. ``code`` is stable and
is what the kiosk and the console translate; ``message`` is the English fallback."""


from relais_wire.errors import CodedError


class ServiceError(CodedError):
    """A use case's refusal: ``code``, the English ``message`` and the ``detail`` an entry
    point's wording takes (the same shape as the broker's own failures)."""


class NotFound(ServiceError):
    pass


class Conflict(ServiceError):
    pass


class Invalid(ServiceError):
    pass
