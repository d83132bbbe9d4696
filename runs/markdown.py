"""The markdown erkweb writes itself (reports, exports): one rule for a table cell.

A cell's text can come from an agent or from the files a run read, so nothing in it may end the cell
or the row. White space (line breaks included) collapses to single spaces, and a pipe is escaped as
``\\|``, the way GitHub's and Python-Markdown's tables read a pipe inside a cell. Backslashes right
before a pipe are doubled first, so that ``a\\|b`` stays that text rather than becoming an escaped
backslash and the end of the cell; other backslashes are left alone, since escaping them would show
doubled inside a code span. Writers put a space between a cell and its closing pipe, so a text ending
in a backslash cannot escape that pipe either. learn's markdown reader (``row_cells``) is the inverse.
"""

import re

_BEFORE_PIPE = re.compile(r"(\\*)\|")


def table_cell(value: object) -> str:
    return _BEFORE_PIPE.sub(lambda m: m[1] * 2 + "\\|", " ".join(str(value).split()))
