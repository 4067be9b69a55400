"""Double-click or ``python main.py [FILE]``: launches MPM Studio."""

import sys

from app.main import main

if __name__ == "__main__":
    sys.exit(main())
