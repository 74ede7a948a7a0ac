"""``python -m loader`` and the ``callgraph`` console script.

The command line is imported here rather than named by the script, so a Ctrl-C while Python
is still importing it (click, the Neo4j driver) ends in one line too, like one in a command.
"""

import sys


def run() -> None:
    try:
        from .cli import main
    except KeyboardInterrupt:
        from .errors import Interrupted

        sys.stderr.write(f"Error: {Interrupted()}\n")
        sys.exit(Interrupted.exit_code)
    main()


if __name__ == "__main__":
    run()
