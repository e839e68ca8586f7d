"""Entry point of the bundled executable: the GUI without arguments, the CLI with them."""

import sys

if __name__ == "__main__":
    if len(sys.argv) == 1:
        from app.main_window import launch

        sys.exit(launch())
    from app.cli import main

    sys.exit(main())
