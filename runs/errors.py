"""Errors that reach a user as one clear line (the command line, a form) rather than a traceback."""


class InputError(ValueError):
    """Bad input to a run, found before anything is created."""
