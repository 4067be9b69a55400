"""Fuzz every reader for a while and print figures (issue 17): cases per format, failures, peak memory.

    nice -n 19 .venv/bin/python scripts/fuzz_readers.py --minutes 10 --out /tmp/fuzz

The same samples, mutations and limited workers as ``tests/test_fuzz_readers.py`` (``tests/fuzz_support.py``),
but random (not derandomized), round-robin over the formats until the time is up, recording failures instead of
stopping at the first. A failure is any outcome other than a sequence or a ``PoseDataError``: another
exception, a worker killed by its CPU-time limit or a crash, a MemoryError under the address-space limit
(baseline + 1 GiB), or no answer within the wall guard. Failing inputs are saved under ``--out`` with a
``summary.json``; each distinct failure should become an explicit example in ``tests/test_hardening.py``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests.fuzz_support import MEMORY_LIMIT_BYTES, ReaderWorker, build_samples, mutate  # noqa: E402
from tests.test_fuzz_readers import FORMATS  # noqa: E402


def _signature(detail: str) -> str:
    """Exception type and the innermost project frame: one line per distinct bug."""
    first = detail.splitlines()[0] if detail else ""
    frames = [ln.strip() for ln in detail.splitlines() if ln.strip().startswith('File "') and "mpm_core" in ln]
    return f"{first.split(':')[0]} @ {frames[-1] if frames else '?'}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--round", type=int, default=40, help="examples per format per round")
    parser.add_argument("--out", type=Path, default=Path("fuzz-out"))
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--formats", nargs="*", default=list(FORMATS))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    samples = build_samples(args.shared)
    stats = {f: {"cases": 0, "ok": 0, "bad-input": 0, "failures": 0, "peak_rss": 0} for f in args.formats}
    failures: dict[str, dict] = {}
    workers = {f: ReaderWorker(warmup=(samples[f].files, samples[f].main)) for f in args.formats}
    start = time.monotonic()
    deadline = start + 60 * args.minutes
    rounds = 0
    try:
        while time.monotonic() < deadline:
            rounds += 1
            for fmt in args.formats:
                if time.monotonic() >= deadline:
                    break

                _round(args.round, fmt, samples[fmt], workers[fmt], stats[fmt], failures, args.out)
    finally:
        for w in workers.values():
            w.close()
    return _report(args, stats, workers, failures, time.monotonic() - start, rounds)


def _round(examples, fmt, sample, worker, st_fmt, failures, out) -> None:
    """``examples`` random mutations of one format's sample (hypothesis, no shrinking: failures are recorded)."""

    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        phases=(Phase.generate,),
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def one(data):
        _case(data, fmt, sample, worker, st_fmt, failures, out)

    one()


def _case(data, fmt, sample, worker, st_fmt, failures, out) -> None:
    files, description = mutate(data, sample)
    outcome = worker.run(files, sample.main)
    st_fmt["cases"] += 1
    st_fmt["peak_rss"] = max(st_fmt["peak_rss"], outcome.peak_rss)
    if not outcome.failed:
        st_fmt[outcome.kind] += 1
        return
    st_fmt["failures"] += 1
    key = f"{fmt}: {outcome.kind}: {_signature(outcome.detail)}"
    if key not in failures:
        folder = out / f"failure-{len(failures):03d}"
        folder.mkdir(exist_ok=True)
        for name, data_bytes in files.items():
            (folder / name).write_bytes(data_bytes)
        failures[key] = {
            "format": fmt,
            "kind": outcome.kind,
            "mutation": description,
            "detail": outcome.detail[:4000],
            "files": str(folder),
            "count": 0,
        }
        print(f"FAILURE {key}\n  {description}\n  {(outcome.detail or '?').splitlines()[0]}")
    failures[key]["count"] += 1


def _report(args, stats, workers, failures, elapsed, rounds) -> int:
    rows = []
    for fmt in args.formats:
        s, w = stats[fmt], workers[fmt]
        above = max(0, s["peak_rss"] - w.baseline_rss)
        rows.append(
            f"| {fmt} | {s['cases']:,} | {s['ok']:,} | {s['bad-input']:,} | {s['failures']:,} | {w.restarts} |"
            f" {w.baseline_rss / 2**20:,.0f} | {s['peak_rss'] / 2**20:,.0f} | {above / 2**20:,.0f} |"
        )
    total = sum(s["cases"] for s in stats.values())
    print(f"\n{total:,} cases in {elapsed / 60:.1f} min ({rounds} rounds), {len(failures)} distinct failure(s)")
    print(f"limits per read: address space baseline + {MEMORY_LIMIT_BYTES / 2**30:g} GiB, CPU time per case")
    print(
        "\n| format | cases | read | refused (PoseDataError) | failures | worker restarts |"
        " baseline RSS MiB | peak RSS MiB | peak above baseline MiB |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))
    for key, f in failures.items():
        print(f"\n{key} (x{f['count']})\n  mutation: {f['mutation']}\n  files: {f['files']}")
    summary = {"minutes": elapsed / 60, "cases": total, "stats": stats, "failures": failures, "rounds": rounds}
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
