"""Augmentation ablation: what each part of the training augmentation buys.

    .venv/bin/python benchmarks/bench_augmentation.py --init runs/default/pretrain_last [--steps 1500] [--jobs 2]

Every variant finetunes the same pretrained checkpoint (``--init``; the shipped recipe's stage-1 pretraining) for the
same number of steps with the finetuning settings of ``--base`` (default ``configs/default.json``), changing only
the augmentation:

- ``full``: the recipe's augmentation (random cameras, mirroring, bone-length scaling, detector-like 2D noise);
- ``no_mirror``: no left/right mirroring;
- ``no_bone_scale``: every body at its captured proportions (no body scale, no per-bone factors);
- ``no_2d_noise``: exact projections as input (no jitter, outliers, left/right swaps, dropped joints);
- ``fixed_camera``: one camera set-up (1920x1080, 60 deg field of view, level, the body filling 60% of the image
  height) with only the yaw around the body and the placement in the image random;
- ``none``: all of the above off at once;
- ``full_seed1``: ``full`` again with another seed, to show how much two runs of the same recipe differ.

Each model is then evaluated on the *same* validation windows (the base config's cameras and noise, so the
validation is the in-the-wild-like mix the shipped model is measured on): MPJPE with clean 2D, with noisy 2D and
with 30% of joints hidden, in mm. A real-data check runs too: the OpenPose example (``inputs/openpose_raga``) lifted
through the engine, its worst bone-length standard deviation (% of the bone's length; lower is steadier).
A short budget (CPU): differences of a few millimetres are within run-to-run noise; the table states the steps.
Results are written to ``<out>/results.md`` and ``<out>/results.json`` and printed.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from mpm_core.model.config import load_config  # noqa: E402

#: Variant name -> (what it changes, config overrides as {section: {key: value}}).
NO_MIRROR = {"augment": {"mirror_prob": 0.0}}
NO_BONE_SCALE = {"augment": {"bone_scale_std": 0.0, "body_scale": [1.0, 1.0]}}
NO_2D_NOISE = {"augment": {"noise_prob": 0.0}}
FIXED_CAMERA = {
    "cameras": {
        "fov_deg": [60.0, 60.0],
        "height_m": [1.5, 1.5],
        "pitch_deg": [0.0, 0.0],
        "roll_deg": 0.0,
        "fill": [0.6, 0.6],
        "image_sizes": [[1920, 1080]],
    }
}


def _merge(*overrides: dict[str, dict]) -> dict:
    out: dict = {}
    for o in overrides:
        for section, values in o.items():
            out.setdefault(section, {}).update(values)
    return out


VARIANTS: dict[str, tuple[str, dict]] = {
    "full": ("the recipe's augmentation", {}),
    "no_mirror": ("without left/right mirroring", NO_MIRROR),
    "no_bone_scale": ("without body and bone-length scaling", NO_BONE_SCALE),
    "no_2d_noise": ("without detector-like 2D noise", NO_2D_NOISE),
    "fixed_camera": ("one camera set-up (random yaw and placement only)", FIXED_CAMERA),
    "none": ("no augmentation at all", _merge(NO_MIRROR, NO_BONE_SCALE, NO_2D_NOISE, FIXED_CAMERA)),
    "full_seed1": ("the recipe's augmentation, seed 1 (run-to-run spread)", {"seed": 1}),
}
OPENPOSE_EXAMPLE = "inputs/openpose_raga/example_1person/output_json"


def variant_config(base: dict, overrides: dict, steps: int, run_dir: Path) -> dict:
    """The base config with the variant's overrides, a fixed step budget, one thread and its own run folder."""
    cfg = copy.deepcopy(base)
    for section, values in overrides.items():
        if isinstance(values, dict):
            cfg.setdefault(section, {}).update(values)
        else:  # a top-level value such as the seed
            cfg[section] = values
    ft = cfg.setdefault("finetune", {})
    ft.update({"steps": steps, "time_limit_min": None, "val_every": steps, "ckpt_every": max(100, steps // 5)})
    cfg.update({"threads": 1, "run_dir": str(run_dir), "output": str(run_dir / "model")})
    cfg.pop("_comment", None)
    return cfg


def train_variant(name: str, cfg: dict, init: Path, out: Path) -> float:
    run_dir = out / name
    run_dir.mkdir(parents=True, exist_ok=True)
    config_path = run_dir / "config.json"
    config_path.write_text(json.dumps(cfg, indent=2))
    if (run_dir / "model.safetensors").is_file():
        return 0.0  # already trained (re-running the script only re-evaluates)
    cmd = [sys.executable, "-c", "from mpm_core.cli import main; main()", "finetune", "--config", str(config_path)]
    cmd += ["--init", str(init), "--no-progress"]
    start = time.perf_counter()
    with open(run_dir / "train.log", "w") as log:
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, check=True, cwd=REPO, env=env)
    return time.perf_counter() - start


def openpose_bone_std_pct(model_path: Path, shared: Path) -> float:
    """Worst bone's length std over time, % of its mean, for the OpenPose example lifted through the engine."""
    from mpm_core.engine.lifter import LiftingEngine
    from mpm_core.io import read_2d
    from mpm_core.metrics import bone_lengths

    seq = read_2d(shared / OPENPOSE_EXAMPLE).to_h36m()
    poses = LiftingEngine(model_path, device="cpu", threads=torch.get_num_threads()).lift(seq).poses_3d
    lengths = bone_lengths(poses.astype(np.float64), "h36m17")
    return float((lengths.std(axis=0) / lengths.mean(axis=0)).max() * 100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", type=Path, default=REPO / "configs" / "default.json")
    parser.add_argument("--init", type=Path, required=True, help="pretrained checkpoint every variant starts from")
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--jobs", type=int, default=2, help="variants trained at once (one thread each)")
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "ablation")
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=list(VARIANTS))
    args = parser.parse_args()

    from mpm_core.model.evaluate import evaluate_model

    base = json.loads(args.base.read_text())
    base.pop("run_dir", None)
    base.pop("output", None)
    out = args.out.resolve()
    init = args.init.resolve()
    shared = Path(os.environ.get("MPM_SHARED_DATA", REPO.parent / "shared" / "data"))

    configs = {n: variant_config(base, VARIANTS[n][1], args.steps, out / n) for n in args.variants}
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        walls = dict(zip(configs, pool.map(lambda n: train_variant(n, configs[n], init, out), configs)))

    # One evaluation config for every variant: the base recipe's validation (cameras, noise, seed).
    (out / "base_config.json").write_text(json.dumps({**base, "run_dir": str(out), "output": str(out / "x")}))
    eval_config = load_config(out / "base_config.json")
    torch.set_num_threads(max(1, args.jobs))
    results = {}
    for name in configs:
        model = out / name / "model.safetensors"
        report = evaluate_model(model, eval_config, progress=False)
        c = report["conditions"]
        results[name] = {
            "what": VARIANTS[name][0],
            "steps": args.steps,
            "train_s": round(walls[name], 1),
            "clean": c["clean"]["mpjpe"],
            "noisy": c["noisy"]["mpjpe"],
            "mask30": c["mask30"]["mpjpe"],
            "p_mpjpe_clean": c["clean"]["p_mpjpe"],
            "openpose_bone_std_pct": openpose_bone_std_pct(model, shared),
        }
        print(name, results[name], flush=True)

    lines = [
        f"Augmentation ablation: {args.steps} finetuning steps from `{args.init}` per variant, evaluated on the "
        "same validation windows (MPJPE, mm; root-relative, camera frame). OpenPose: worst bone-length std, % of "
        "length, on the real OpenPose example.",
        "",
        "| variant | what | clean | noisy 2D | 30% masked | P-MPJPE clean | OpenPose bone std % |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        lines.append(
            f"| `{name}` | {r['what']} | {r['clean']:.1f} | {r['noisy']:.1f} | {r['mask30']:.1f} | "
            f"{r['p_mpjpe_clean']:.1f} | {r['openpose_bone_std_pct']:.1f} |"
        )
    (out / "results.json").write_text(json.dumps(results, indent=2))
    (out / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
