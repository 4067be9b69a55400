"""``pretrain``, ``finetune`` and ``evaluate`` subcommands (model training and validation)."""

from __future__ import annotations

import argparse
import json


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="training config (.json or .toml); default: built-in defaults")
    p.add_argument("--data-root", help="mocap folder (overrides data.root in the config)")
    p.add_argument("--run-dir", help="checkpoint/log folder (overrides run_dir in the config)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars (log lines instead)")


def _load(args: argparse.Namespace):
    from mpm_core.model.config import load_config

    config = load_config(args.config)
    if args.run_dir:
        config.run_dir = args.run_dir
    return config


def _train(args: argparse.Namespace, phase: str) -> int:
    from mpm_core.model.train import run_phase

    config = _load(args)
    summary = run_phase(
        config,
        phase,
        init=getattr(args, "init", None),
        resume=args.resume,
        data_root=args.data_root,
        output=getattr(args, "output", None),
        progress=not args.no_progress,
    )
    if summary["rank"] == 0:
        metrics = " ".join(f"{k}={v:.1f}" for k, v in summary["metrics"].items())
        print(f"{phase}: {summary['steps']} steps in {summary['seconds']:.0f} s {metrics}".rstrip())
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from mpm_core.atomic import atomic_write
    from mpm_core.model.evaluate import evaluate_model, format_report

    config = _load(args) if args.config else None  # None: the config stored with the model
    if args.world:
        from mpm_core.model.evaluate import evaluate_world, format_world_report

        report = evaluate_world(args.model, config, data_root=args.data_root, progress=not args.no_progress)
        print(format_world_report(report))
        if args.json:
            with atomic_write(args.json) as f:
                json.dump(report, f, indent=2)
        return 0
    report = evaluate_model(args.model, config, data_root=args.data_root, progress=not args.no_progress, flip=args.flip)
    print(format_report(report))
    if args.json:
        with atomic_write(args.json) as f:
            json.dump(report, f, indent=2)
    if args.store:
        from mpm_core.model.checkpoint import resolve_model, update_sidecar

        where = update_sidecar(resolve_model(args.model), {"evaluation": report})
        print(f"report stored in {where}")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("pretrain", help="MPM pretraining: masked 2D + masked 3D pose modelling on mocap")
    _common(p)
    p.add_argument("--resume", action="store_true", help="continue from run_dir/pretrain_last + pretrain_state")
    p.set_defaults(func=lambda a: _train(a, "pretrain"))

    p = subparsers.add_parser("finetune", help="supervised 2D -> 3D lifting with masked inputs")
    _common(p)
    p.add_argument("--init", help="pretrained checkpoint (default: run_dir/pretrain_last if present)")
    p.add_argument("--output", help="where to write the final model (default: output in the config)")
    p.add_argument("--resume", action="store_true", help="continue from run_dir/finetune_last + finetune_state")
    p.set_defaults(func=lambda a: _train(a, "finetune"))

    p = subparsers.add_parser("evaluate", help="metrics on the validation split (clean, masked, 3D completion)")
    _common(p)
    p.add_argument(
        "--model",
        metavar="NAME|PATH",
        help="registered model name (mpm_h36m17, ...) or checkpoint (.safetensors/.json/stem); default: the shipped "
        "model",
    )
    p.add_argument("--json", metavar="OUT", help="also write the report as JSON")
    p.add_argument(
        "--store", action="store_true", help="store the report in the checkpoint's sidecar (weights untouched)"
    )
    p.add_argument(
        "--world",
        action="store_true",
        help="world-frame figures on whole validation clips (trajectory, up, foot skate, height); not stored",
    )
    p.add_argument(
        "--flip",
        action="store_true",
        help="test-time flip averaging on the 2D conditions (as lift --flip; twice the network time)",
    )
    p.set_defaults(func=_evaluate)
