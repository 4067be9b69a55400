"""``python -m benchmarks.accuracy run|table``: the accuracy benchmark (see ``benchmarks/accuracy/bench.py``).

    nice -n 19 .venv/bin/python -m benchmarks.accuracy run --budget 20m --jobs 1 --out runs/accuracy/full \
        --doc docs/ACCURACY.md
    .venv/bin/python -m benchmarks.accuracy table --out runs/accuracy/full --doc docs/ACCURACY.md

``run`` trains and evaluates every (model, split) job (the ablations on their splits only) not finished in
``<out>/state.json`` (rerun it to resume; ``--stop-after MIN`` starts no job after that many minutes), then writes
``<out>/results.md`` and, with ``--doc``, the table between the markers of that document. Bad input exits with code
2 and one line on stderr.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks.accuracy import bench
from mpm_core.errors import PoseDataError


def _names(text: str, known: tuple[str, ...], flag: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    bad = [n for n in names if n not in known]
    if bad or not names:
        raise PoseDataError(f"unknown {', '.join(bad) or 'empty list'}; known: {', '.join(known)}", where=flag)
    return tuple(n for n in known if n in names)  # canonical order


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.accuracy", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="train and evaluate the jobs not finished yet, then write the table")
    run.add_argument("--budget", required=True, help="per model: CPU time (90s, 20m, 1.5h) or windows (4000w)")
    run.add_argument("--out", default="runs/accuracy/default", help="run folder (state.json, jobs/, results.md)")
    run.add_argument(
        "--models", default=",".join(bench.MODELS), help="comma-separated (default: all, ablations included)"
    )
    run.add_argument("--splits", default=",".join(bench.SPLITS), help="comma-separated (default: all)")
    run.add_argument("--jobs", type=int, default=1, help="jobs in parallel processes (default 1)")
    run.add_argument("--threads", type=int, default=1, help="torch threads per job (default 1)")
    run.add_argument("--batch-size", type=int, default=32, help="training windows per step (default 32)")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--max-clips", type=int, help="per set, only this many training and test clips (smoke runs)")
    run.add_argument("--max-test-windows", type=int, help="at most this many test windows per split (reduced runs)")
    run.add_argument("--data-root", help="mocap folder (default: the shared data)")
    run.add_argument("--stop-after", type=float, metavar="MIN", help="start no new job after this many minutes")
    run.add_argument("--doc", help="also paste the table between the markers of this markdown file")
    run.add_argument("--note", default="", help="a line added to the table's header (e.g. 'reduced budget')")
    check = sub.add_parser("check", help="evaluate one MPM checkpoint on splits' test windows (not stored)")
    check.add_argument("--model", required=True, help="registered model name or checkpoint path")
    check.add_argument("--splits", default="lpo_cmu_dance", help="comma-separated (default: lpo_cmu_dance)")
    check.add_argument("--flip", action="store_true", help="test-time flip averaging")
    check.add_argument("--threads", type=int, default=1)
    check.add_argument("--max-clips", type=int, help="per set, only this many test clips (smoke runs)")
    check.add_argument("--max-test-windows", type=int, help="at most this many test windows per split")
    check.add_argument("--data-root", help="mocap folder (default: the shared data)")
    check.add_argument("--json", help="also write the results as JSON")
    table = sub.add_parser("table", help="write the table from a run folder's state")
    table.add_argument("--out", default="runs/accuracy/default")
    table.add_argument("--doc")
    table.add_argument("--note", default="")
    return parser


def _check(args: argparse.Namespace) -> int:
    import json

    from mpm_core.atomic import atomic_write

    settings = bench.Settings(
        budget=bench.Budget(1, "windows"),
        threads=args.threads,
        max_clips=args.max_clips,
        max_test_windows=args.max_test_windows,
        data_root=args.data_root,
    )
    results = []
    for split in _names(args.splits, bench.SPLITS, "--splits"):
        result = bench.evaluate_checkpoint(args.model, split, settings, flip=args.flip)
        print(bench.format_check(result), flush=True)
        results.append(result)
    if args.json:
        with atomic_write(args.json) as f:
            json.dump(results, f, indent=1)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "check":
            return _check(args)
        out = Path(args.out)
        if args.command == "table":
            state = bench._read_state(out / "state.json")
            if state is None:
                raise PoseDataError("no state.json: nothing has run here", out)
            print(bench.write_table(state, out, Path(args.doc) if args.doc else None, args.note))
            return 0
        for flag, value in (("--jobs", args.jobs), ("--threads", args.threads), ("--batch-size", args.batch_size)):
            if value < 1:
                raise PoseDataError(f"{value} must be >= 1", where=flag)
        settings = bench.Settings(
            budget=bench.Budget.parse(args.budget),
            batch_size=args.batch_size,
            seed=args.seed,
            threads=args.threads,
            models=_names(args.models, bench.MODELS, "--models"),
            splits=_names(args.splits, bench.SPLITS, "--splits"),
            max_clips=args.max_clips,
            max_test_windows=args.max_test_windows,
            data_root=args.data_root,
        )
        summary = bench.run(
            settings, out, jobs=args.jobs, stop_after_s=None if args.stop_after is None else args.stop_after * 60
        )
        print(bench.write_table(summary["state"], out, Path(args.doc) if args.doc else None, args.note))
        print(f"ran {summary['ran']} job(s), skipped {summary['skipped']} finished job(s); table: {out / 'results.md'}")
        if summary["failed"]:
            print(f"failed: {', '.join(summary['failed'])} (rerun to retry)", file=sys.stderr)
            return 1
        return 0
    except PoseDataError as exc:
        print(f"benchmarks.accuracy: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("benchmarks.accuracy: cancelled (finished jobs are kept; rerun to resume)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
