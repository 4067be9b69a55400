"""One-hour inputs still load under the reader limits (issue 17): prints load time and peak memory.

    nice -n 19 .venv/bin/python benchmarks/bench_one_hour_inputs.py [--minutes 60]

Writes, in a temp folder, a one-hour 30 fps single-person AlphaPose results JSON (COCO-17, scores up to 1.07,
some negative off-frame x), the same as a canonical 2D CSV and as a ``(T, 17, 3)`` ``.npy``, then reads each
with ``mpm_core.io.load_2d`` in a fresh process (peak RSS from ``getrusage``). Figures, not assertions.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
FPS = 30
_READ = """
import resource, sys, time
t0 = time.perf_counter()
from mpm_core.io import load_2d
loaded = load_2d(sys.argv[1])
dt = time.perf_counter() - t0
t = loaded.tracks[0]
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{t.num_frames} {dt:.2f} {rss:.0f} {float(t.scores.max()):.2f}")
"""


def _alphapose(path: Path, kp: np.ndarray, scores: np.ndarray) -> None:
    with open(path, "w") as f:
        f.write("[")
        for t in range(len(kp)):
            flat = np.concatenate([kp[t], scores[t][:, None]], axis=1).round(3).ravel().tolist()
            entry = {"image_id": f"{t}.jpg", "category_id": 1, "keypoints": flat, "score": 2.9, "idx": [0.0]}
            f.write(("," if t else "") + json.dumps(entry, separators=(",", ":")))
        f.write("]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=60.0)
    args = parser.parse_args()
    frames = int(args.minutes * 60 * FPS)
    rng = np.random.default_rng(1)
    # one person walking back and forth: a smooth path (a tracker links it), some joints off-frame at negative x
    t = np.arange(frames) / FPS
    centre = np.stack([900 + 940 * np.sin(2 * np.pi * t / 20), 540 + 40 * np.sin(2 * np.pi * t)], axis=1)
    pose = rng.uniform(-120, 120, (17, 2))
    kp = (centre[:, None, :] + pose[None] + rng.normal(0, 2, (frames, 17, 2))).astype(np.float32)
    scores = rng.uniform(0.05, 1.07, (frames, 17)).astype(np.float32)
    from mpm_core.io.canonical import write_csv_2d
    from mpm_core.sequence import PoseSequence2D

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        files = {"alphapose-results.json": tmp / "alphapose-results.json", "pose.csv": tmp / "pose.csv"}
        _alphapose(files["alphapose-results.json"], kp, scores)
        write_csv_2d(files["pose.csv"], PoseSequence2D(kp, np.minimum(scores, 1), None, FPS, "coco17"))
        files["keypoints.npy"] = tmp / "keypoints.npy"
        np.save(files["keypoints.npy"], np.concatenate([kp, scores[..., None]], axis=2))
        print(f"{args.minutes:g} min at {FPS} fps = {frames:,} frames, 17 joints, one person")
        print("| file | size MB | frames read | load s | peak RSS MiB | max score |")
        print("|---|---:|---:|---:|---:|---:|")
        for name, path in files.items():
            out = subprocess.run([sys.executable, "-c", _READ, str(path)], capture_output=True, text=True, cwd=REPO)
            if out.returncode:
                print(f"| {name} | FAILED: {out.stderr.strip().splitlines()[-1]} |")
                continue
            n, dt, rss, top = out.stdout.split()
            print(f"| {name} | {path.stat().st_size / 1e6:,.0f} | {int(n):,} | {dt} | {rss} | {top} |")


if __name__ == "__main__":
    main()
