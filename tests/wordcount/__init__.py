"""A test-only operation: counts the words of every ``.txt`` file of a folder.

It exists to show that an operation is one package plus one line in ``ERKWEB_OPERATIONS``: the tests
register it through that setting and drive it through the form, a run, verification, the report, a
comparison, the exports, the history and the command line, without any other module knowing it.
"""
