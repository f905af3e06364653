"""`python -m gradlint`: the command line, never importing from the directory it is run in.

`python -m` puts the current directory first on sys.path, so a checked repository's own
`click.py`, `tokenize.py` or `ast.py` would be imported in place of the real ones, and run. The
entry is dropped here, before anything else is imported; the interpreter already leaves it
out under `-P` or PYTHONSAFEPATH, and then sys.path[0] is a real entry that must stay.
"""

import os
import sys


def _drop_current_directory() -> None:
    """Remove the entry `-m` prepended for the current directory (as '' or its full path)."""
    if getattr(sys.flags, "safe_path", False) or not sys.path:
        return
    try:
        current = os.getcwd()
    except OSError:  # deleted under us: any relative entry could name anything
        current = None
    first = sys.path[0]
    if first in ("", os.curdir) or (current is not None and os.path.abspath(first) == current):
        del sys.path[0]


if __name__ == "__main__":
    _drop_current_directory()
    # Only now: nothing is imported from the current directory.
    from gradlint.cli import main

    main()
