"""World placement benchmarks (figures, not tests): a full ``place_in_world`` and the live-preview
``WorldPlacement.update_rows`` on a long sequence.

    .venv/bin/python benchmarks/bench_placement.py [--frames 18000] [--edits 50] [--rows 100]

Input: a synthetic walker (``tests/synthetic_motion.planted_walk``) seen by a tilted camera, with 5 mm noise on
the root-relative 3D, as a ``Reconstruction`` (the model is not run: placement does not depend on it). Default
export options (world output, foot locking on). Results go to stdout as a Markdown table for
benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from mpm_core.engine.masks import Mask  # noqa: E402
from mpm_core.engine.placement import place_in_world  # noqa: E402
from mpm_core.engine.result import Reconstruction  # noqa: E402
from mpm_core.engine.trajectory import CameraIntrinsics  # noqa: E402
from mpm_core.export import ExportOptions  # noqa: E402
from mpm_core.sequence import PoseSequence2D  # noqa: E402
from tests.synthetic_motion import camera_pose, planted_walk, world_to_camera  # noqa: E402

FPS = 30.0


def reconstruction(frames: int) -> Reconstruction:
    world, _ = planted_walk(frames, FPS, radius=2.5)  # round and round a 2.5 m circle
    r_cw, centre = camera_pose(pitch_deg=12.0, roll_deg=2.0, yaw_deg=0.0)
    centre = centre + [2.2, 0.0, -4.0]  # in front of the circle, far enough back to see all of it
    cam = world_to_camera(world, r_cw, centre)
    k = CameraIntrinsics.from_image_size(1920, 1080)
    kp = k.project(cam).astype(np.float32)
    rel = cam - cam[:, :1] + np.random.default_rng(0).normal(0.0, 0.005, cam.shape)
    rel = (rel - rel[:, :1]).astype(np.float32)
    seq2d = PoseSequence2D(kp, fps=FPS, image_size=(1920, 1080), source="synthetic")
    return Reconstruction(rel, kp, kp, np.zeros((frames, 17), bool), Mask.empty(frames), seq2d, FPS, (1920, 1080), "-")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=18000)
    parser.add_argument("--edits", type=int, default=50)
    parser.add_argument("--rows", type=int, default=100, help="rows re-placed per edit")
    args = parser.parse_args()
    recon = reconstruction(args.frames)
    options = ExportOptions()
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        placement = place_in_world(recon, options)
        runs.append(time.perf_counter() - t0)
    rng = np.random.default_rng(1)
    times = []
    for k in range(args.edits + 3):
        lo = int(rng.integers(0, args.frames - args.rows))
        t0 = time.perf_counter()
        placement.update_rows(recon, lo, lo + args.rows, options)
        if k >= 3:  # warm-up
            times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    print(f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print(f"| measure ({args.frames} frames at {FPS:g} fps, default world options) | value |")
    print("|---|---|")
    best, median = min(runs) * 1000, statistics.median(runs) * 1000
    print(f"| `place_in_world` (full placement) | best {best:.0f} ms, median {median:.0f} ms |")
    print(
        f"| `update_rows`, {args.rows} rows, {args.edits} edits | p50 {statistics.median(times):.1f} ms, "
        f"p95 {times[int(0.95 * (len(times) - 1))]:.1f} ms, max {times[-1]:.1f} ms |"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
