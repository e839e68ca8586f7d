"""Entry point of the bundled executable: the window without arguments, the CLI with them."""

import sys

if __name__ == "__main__":
    from app.cli import main

    # `damagemap` alone opens the window through `damagemap gui`, so a machine without a
    # display or the X libraries gets the same one-line explanation as the installed CLI
    sys.exit(main(sys.argv[1:] or ["gui"]))
