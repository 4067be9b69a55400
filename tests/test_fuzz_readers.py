"""Fuzz suite of the readers (issue 17): every sample format mutated by hypothesis, read in a limited worker.

A mutated file must give a sequence or a ``PoseDataError`` -- never another exception, a dead worker (SIGXCPU
after ``CPU_LIMIT_S`` of CPU time, a crash) or a read over ``MEMORY_LIMIT_BYTES`` above the worker's baseline
(``RLIMIT_AS``: a bigger allocation raises MemoryError, which counts as a failure). One forked worker per format,
restarted after a failure. Under ``CI=true`` the examples are derandomized (the same every run); the long random
run is ``scripts/fuzz_readers.py``. What a long run found is pinned in ``tests/test_hardening.py``.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.fuzz_support import ReaderWorker, build_samples, mutate

#: Examples per format: 15 formats x 200 = 3,000 cases, about 50 s on 2 busy cores (measured 30 s for 120).
EXAMPLES_PER_FORMAT = int(os.environ.get("MPM_FUZZ_EXAMPLES", "200"))
FORMATS = (
    "openpose",
    "coco-results",
    "mmpose",
    "kinetics",
    "mediapipe-json",
    "mediapipe-csv",
    "videopose3d-custom",
    "detectron2-npz",
    "npy",
    "csv-2d",
    "npz-2d",
    "csv-3d",
    "npz-3d",
    "bvh",
    "amc",
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="module")
def samples(shared_data):
    shared_data("inputs")  # missing shared data: a skip locally, a failure under CI
    shared_data("mocap")
    return build_samples(shared_data.root)


@pytest.fixture(scope="module")
def workers():
    pool: dict[str, ReaderWorker] = {}
    yield pool
    for worker in pool.values():
        worker.close()


def test_every_format_has_a_sample(samples):
    assert sorted(samples) == sorted(FORMATS)


@pytest.mark.parametrize("fmt", FORMATS)
def test_clean_sample_reads(fmt, samples, workers):
    """The unmutated sample reads: the fuzzer starts from valid files of each format."""
    sample = samples[fmt]
    worker = workers.setdefault(fmt, ReaderWorker(warmup=(sample.files, sample.main)))
    outcome = worker.run(sample.files, sample.main)
    assert outcome.kind == "ok", outcome.detail


@pytest.mark.parametrize("fmt", FORMATS)
def test_mutated_files_give_a_sequence_or_pose_data_error(fmt, samples, workers):
    sample = samples[fmt]
    worker = workers.setdefault(fmt, ReaderWorker(warmup=(sample.files, sample.main)))
    seen: dict[str, int] = {}

    @settings(
        max_examples=EXAMPLES_PER_FORMAT,
        derandomize=IN_CI,
        database=None,
        deadline=None,
        phases=(Phase.explicit, Phase.generate),  # no shrinking: the description names the mutation
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def check(data):
        files, description = mutate(data, sample)
        outcome = worker.run(files, sample.main)
        seen[outcome.kind] = seen.get(outcome.kind, 0) + 1
        assert not outcome.failed, f"{fmt}: {description}: {outcome.kind}: {outcome.detail}"

    check()
    assert sum(seen.values()) >= min(EXAMPLES_PER_FORMAT, 10)
    assert seen.get("bad-input", 0) > 0, f"no mutation of {fmt} was refused: the mutations do not reach the reader"
