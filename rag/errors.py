class RagError(Exception):
    """Base of every error the package raises on purpose; its message is meant for the user."""


class InvalidInput(RagError):
    """A question, document or parameter the user gave is unusable: CLI prints it, HTTP answers 422 (naming
    ``field``, the request field it is about, when it is known)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class NotFound(RagError):
    """A document id the user named does not exist: HTTP answers 404."""


class IndexUnavailable(RagError):
    """The index is missing, corrupt or built by another model: the message names the command that rebuilds it."""


class Busy(RagError):
    """Too many writes are in progress: HTTP answers 503 at once, with ``Retry-After: retry_after`` seconds."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


SHOWN_CHARS = 80  # of a user's value quoted back in a message


def shown(value: str) -> str:
    """``value`` quoted for a message, cut to SHOWN_CHARS characters (a 100,000-character id is not echoed back)."""
    return repr(value) if len(value) <= SHOWN_CHARS else f"{value[:SHOWN_CHARS]!r}… ({len(value)} characters)"
