"""3D CSV exports, wide and long, with units and coordinate frame in ``#`` comment lines.

Comment lines (``# key=value``, before the header): ``format=mpm-studio-3d``, ``version=2``, ``coords``
(``camera``: x right, y down, z forward, root-relative; ``world``: y up, floor y = 0 at the soles), ``units``
(m/cm/mm), ``fps``, ``layout=h36m17``, ``source`` (input file), ``model`` (checkpoint), a ``# axes:`` line in
words, then the export's notes: for world output ``floor`` (how up and the floor were found), ``stature_m``,
``ankle_height_m``, ``foot_locking``, ``root_motion``; ``height_m`` when the performer's height was given,
``resampled_from_fps`` when resampled.

Wide: ``frame,time_s,<joint>_x,<joint>_y,<joint>_z,...`` (joints in layout order), then ``<joint>_hidden``
columns (1 = the model filled the joint in, not observed) when hidden flags are given, then
``left_contact,right_contact`` (1 = the foot is planted) when contacts are given. It is the project's canonical
3D CSV (``mpm_core.io.canonical.read_csv_3d`` reads it back, version 1 files too).

Long: ``frame,time_s,joint,x,y,z,confidence,masked``, one row per frame and joint; ``masked`` is 1 where the
joint was hidden from the model; ``left_contact,right_contact`` follow when contacts are given (the frame's, on
each of its rows). Missing joints have empty x, y, z.

Version history: 1 had no contact columns and no notes.
"""

from __future__ import annotations

import csv
import os

import numpy as np

from mpm_core.atomic import atomic_write
from mpm_core.io.canonical import CONTACT_COLUMNS, check_contacts, check_hidden, format_float, in_units, write_csv_3d
from mpm_core.sequence import PoseSequence3D

FORMAT_NAME = "mpm-studio-3d"
FORMAT_VERSION = 2
AXES_TEXT = {
    "camera": "x right, y down, z forward (camera frame, root-relative: pelvis at the origin)",
    "world": "y up, floor at y = 0 (world frame)",
}


def _one_line(text) -> str:
    return str(text).replace("\n", " ").replace("\r", " ")


def header_lines(seq: PoseSequence3D, units: str, model: str = "", notes: dict[str, str] | None = None) -> list[str]:
    """The ``#`` comment lines shared by both CSV forms."""
    clean = _one_line
    lines = [
        f"# format={FORMAT_NAME}",
        f"# version={FORMAT_VERSION}",
        f"# coords={seq.coords}",
        f"# axes: {AXES_TEXT[seq.coords]}",
        f"# units={units}",
        f"# fps={float(seq.fps)!r}",
        f"# layout={seq.layout}",
        f"# source={clean(seq.source)}",
        f"# model={clean(model)}",
    ]
    return lines + [f"# {key}={clean(value)}" for key, value in (notes or {}).items()]


def write_csv_wide(
    path: str | os.PathLike,
    seq: PoseSequence3D,
    hidden: np.ndarray | None = None,
    units: str = "m",
    model: str = "",
    contacts: np.ndarray | None = None,
    notes: dict[str, str] | None = None,
) -> None:
    """Wide CSV (one row per frame), atomic: the canonical 3D CSV with this module's comment lines."""
    write_csv_3d(path, seq, hidden, units=units, comments=header_lines(seq, units, model, notes), contacts=contacts)


def write_csv_long(
    path: str | os.PathLike,
    seq: PoseSequence3D,
    hidden: np.ndarray | None = None,
    units: str = "m",
    model: str = "",
    contacts: np.ndarray | None = None,
    notes: dict[str, str] | None = None,
) -> None:
    """Long CSV (one row per frame and joint), atomic. See the module docstring."""
    hidden = check_hidden(hidden, seq)
    contacts = check_contacts(contacts, seq)
    names = seq.layout_info.joint_names
    coords = in_units(seq, units)
    times = seq.times
    with atomic_write(path) as f:
        f.write("\n".join(header_lines(seq, units, model, notes)) + "\n")
        writer = csv.writer(f, lineterminator="\n")
        columns = ["frame", "time_s", "joint", "x", "y", "z", "confidence", "masked"]
        writer.writerow(columns + (list(CONTACT_COLUMNS) if contacts is not None else []))
        for t, frame in enumerate(seq.frame_numbers):
            for j, name in enumerate(names):
                xyz = [format_float(v) for v in coords[t, j]] if seq.visible[t, j] else ["", "", ""]
                masked = "1" if hidden is not None and hidden[t, j] else "0"
                row = [str(int(frame)), format_float(times[t]), name, *xyz, format_float(seq.scores[t, j]), masked]
                if contacts is not None:
                    row += ["1" if c else "0" for c in contacts[t]]
                writer.writerow(row)
