"""Agent-written values as they may appear in a reason: short, valid UTF-8 and on one printable line.

Reasons are stored in the database and shown on pages and the command line; a NUL (which PostgreSQL
text cannot hold), a line break or an escape sequence from a hostile file must not ride along.
"""

from runs.paths import shown


def printable(value: object) -> str:
    return "".join(
        char if char.isprintable() else char.encode("unicode_escape").decode("ascii") for char in shown(value)
    )
