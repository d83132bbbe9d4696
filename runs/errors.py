"""Errors that reach a user as one clear line (the command line, a form) rather than a traceback."""


class InputError(ValueError):
    """Bad input to a run, found before anything is created.

    ``field`` names the input it is about (``docs_root``, ``agents``, ``model``...), so that a form can
    show the message next to that field; None when it is about the inputs as a whole.
    """

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field
