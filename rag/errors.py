class RagError(Exception):
    """Base of every error the package raises on purpose; its message is meant for the user."""


class InvalidInput(RagError):
    """A question, document or parameter the user gave is unusable: CLI prints it, HTTP answers 422."""


class NotFound(RagError):
    """A document id the user named does not exist: HTTP answers 404."""


class IndexUnavailable(RagError):
    """The index is missing, corrupt or built by another model: the message names the command that rebuilds it."""
