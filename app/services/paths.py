"""Where the app keeps per-user things: preferences (QSettings), recent files, autosaves.

``MPM_STUDIO_DATA_DIR`` overrides the per-user data folder and ``MPM_STUDIO_CONFIG_DIR`` the folder of the
preferences file (tests point both at a temporary folder, so a leftover autosave never reaches another test).
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths

ORGANIZATION = "MPM Studio"
APPLICATION = "mpm-studio"


def data_dir() -> Path:
    """The per-user data folder (created on first use)."""
    env = os.environ.get("MPM_STUDIO_DATA_DIR")
    path = Path(env) if env else Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation))
    if not env and path.name != APPLICATION:
        path = path / APPLICATION
    path.mkdir(parents=True, exist_ok=True)
    return path


def autosave_dir() -> Path:
    path = data_dir() / "autosave"
    path.mkdir(parents=True, exist_ok=True)
    return path


def settings() -> QSettings:
    """The preferences store: an INI file in the per-user config folder (or ``MPM_STUDIO_CONFIG_DIR``)."""
    env = os.environ.get("MPM_STUDIO_CONFIG_DIR")
    if env:
        Path(env).mkdir(parents=True, exist_ok=True)
        return QSettings(str(Path(env) / f"{APPLICATION}.ini"), QSettings.Format.IniFormat)
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION)
