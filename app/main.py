"""``mpm-studio``: launches the desktop app, optionally with a file to open."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mpm-studio", description="MPM Studio desktop app")
    parser.add_argument("files", nargs="*", help="pose file or OpenPose folder to open")
    args = parser.parse_args(argv)

    from PySide6.QtWidgets import QApplication

    from app.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("MPM Studio")
    window = MainWindow()
    window.show()
    if args.files:
        window.open_path(args.files[0])
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
