"""Exporters: 3D pose sequences to CSV (wide/long), NPZ, JSON and BVH; the export pipeline.

Every file is written atomically. See each module's docstring for its format.
"""

from mpm_core.export.bvh_writer import BvhAnimation, build_bvh, write_bvh
from mpm_core.export.csv_export import write_csv_long, write_csv_wide
from mpm_core.export.npz_json import write_json, write_npz
from mpm_core.export.options import ExportOptions
from mpm_core.export.pipeline import (
    OUTPUT_SUFFIXES,
    OutputSequence,
    build_output,
    build_output_sequence,
    export,
    write_output,
)

__all__ = [
    "OUTPUT_SUFFIXES",
    "BvhAnimation",
    "ExportOptions",
    "OutputSequence",
    "build_bvh",
    "build_output",
    "build_output_sequence",
    "export",
    "write_bvh",
    "write_csv_long",
    "write_csv_wide",
    "write_json",
    "write_npz",
    "write_output",
]
