"""The one exception type users see: its message says what is wrong and what to do."""


class StudioError(Exception):
    """A problem the user can act on. The message is shown as is, without a traceback."""
