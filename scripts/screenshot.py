"""Saves a screenshot of the real main window with a real file: ``python scripts/screenshot.py FILE OUT.png``.

Run under a display (or ``xvfb-run``); used to make the README's picture.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app.main_window import MainWindow


def main() -> int:
    path, out = sys.argv[1], sys.argv[2]
    frame = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    app = QApplication(sys.argv[:1])
    win = MainWindow()
    win.resize(1100, 750)
    win.show()

    def shoot() -> None:
        win.document.set_frame(frame)
        app.processEvents()
        win.grab().save(out)
        app.quit()

    win.document.sequenceChanged.connect(lambda: QTimer.singleShot(500, shoot))
    win.document.errorRaised.connect(lambda msg: (print(msg, file=sys.stderr), app.exit(1)))
    win.open_path(path)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
