"""The benchmark report's statistics: the bootstrap interval of a ratio, the targets table, the raw samples."""

from __future__ import annotations

import importlib.util
import json
import statistics
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import ModuleType

_RUN = Path(__file__).parent.parent / "bench" / "run.py"


@pytest.fixture(scope="module")
def run() -> Iterator[ModuleType]:
    spec = importlib.util.spec_from_file_location("bench_run", _RUN)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_run"] = module  # dataclasses look their module up by name
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules["bench_run"]


X, DASH = "\N{MULTIPLICATION SIGN}", "\N{EN DASH}"
#: seven rounds whose load differed a lot: every tool was slow in the same rounds
_ROUNDS = [1.0, 1.9, 1.2, 3.1, 1.1, 2.4, 1.5]


def test_a_round_keeps_its_pair(run: ModuleType) -> None:
    ours = [0.9 * value for value in _ROUNDS]  # 0.9x tox-uv in every round, however loaded
    low, high = run.paired_interval(ours, _ROUNDS)
    # resampling each tool's runs on its own would mix slow rounds with fast ones: a wide interval
    assert low == pytest.approx(0.9)
    assert high == pytest.approx(0.9)


def test_the_interval_holds_the_ratio_of_medians_and_shows_the_spread(run: ModuleType) -> None:
    ours = [value * factor for value, factor in zip(_ROUNDS, [0.8, 1.1, 0.95, 0.9, 1.05, 0.85, 1.0], strict=True)]
    low, high = run.paired_interval(ours, _ROUNDS)
    point = statistics.median(ours) / statistics.median(_ROUNDS)
    assert low < point < high
    assert 0.8 <= low < high <= 1.1  # a resampled ratio of medians stays within the rounds' own ratios
    assert run.paired_interval(ours, _ROUNDS) == (low, high)  # a fixed seed: the report is reproducible


def test_a_clear_difference_puts_the_interval_beyond_the_target(run: ModuleType) -> None:
    ours = [2.0 * value + 0.1 * (-1) ** number for number, value in enumerate(_ROUNDS)]
    low, _ = run.paired_interval(ours, _ROUNDS)
    assert low > 1.5


def test_no_interval_from_too_few_rounds_or_a_step_not_above_zero(run: ModuleType) -> None:
    assert run.paired_interval([1.0, 2.0], [1.0, 2.0]) is None
    assert run.paired_interval([1.0, 1.0, 1.0], [0.0, -0.1, 0.0]) is None
    assert run.interval_text(None) == DASH


def _bench(run: ModuleType, samples: dict[tuple[str, str, str], list[float]]) -> object:
    bench = run.Bench(tools=[], index="", uv=Path(), base_env={}, locks={})
    for key, seconds in samples.items():
        bench.samples[key] = [run.Sample(value, 1024, floor=0.5) for value in seconds]
    return bench


def test_the_targets_table_gives_the_end_to_end_interval_and_keeps_the_verdict_on_the_median(
    run: ModuleType,
) -> None:
    theirs = [1.0, 1.2, 0.9, 1.1, 1.0]
    ours = [0.96 * value for value in theirs]  # 0.96x in every round: the median misses 0.95
    bench = _bench(run, {("e2e", "no-op", "venvsync"): ours, ("e2e", "no-op", "tox-uv"): theirs})
    rows = [row for row in run.targets(bench, scaling=False) if row.startswith("| end to end, no-op")]
    assert rows == [f"| end to end, no-op ≤ 0.95{X} tox-uv | 0.96{X} | 0.96{DASH}0.96 | **no** |"]


def test_the_pip_speed_up_interval_is_the_speed_up_s(run: ModuleType) -> None:
    ours = [2.0, 2.2, 1.9, 2.1, 2.0]
    bench = _bench(
        run, {("e2e", "cold", "venvsync"): ours, ("e2e", "cold", "tox-pip"): [20.0 * value for value in ours]}
    )
    rows = [row for row in run.targets(bench, scaling=False) if row.startswith("| end to end, cold: ≥ 15")]
    assert rows == [f"| end to end, cold: ≥ 15{X} faster than tox + pip | 20.0{X} | 20.00{DASH}20.00 | yes |"]


def test_the_raw_samples_are_kept_in_round_order(run: ModuleType) -> None:
    bench = _bench(run, {("e2e", "bump", "venvsync"): [1.5, 1.25]})
    document = json.loads(run.samples_json(bench))
    assert document["samples"] == [
        {
            "layer": "e2e",
            "scenario": "bump",
            "tool": "venvsync",
            "runs": [
                {"seconds": 1.5, "floor": 0.5, "max_rss_kib": 1024},
                {"seconds": 1.25, "floor": 0.5, "max_rss_kib": 1024},
            ],
        }
    ]


def test_drift_is_the_last_third_of_the_rounds_over_the_first(run: ModuleType) -> None:
    samples = [run.Sample(value, 1024) for value in [1.0, 1.2, 5.0, 1.1, 2.0, 2.4, 2.2]]  # thirds of two rounds
    assert run.drift(samples) == pytest.approx(2.3 / 1.1)
    assert run.drift(samples[:5]) is None  # a third of five rounds is one run


def test_the_report_names_an_end_to_end_cell_that_drifted(run: ModuleType) -> None:
    steady = [1.0, 1.1, 0.9, 1.0, 1.05, 0.95]
    slower = [1.0, 1.0, 1.5, 1.8, 2.0, 2.1]  # 2.05x in its last two rounds
    bench = _bench(run, {("e2e", "cold", "venvsync"): steady, ("e2e", "no-op", "venvsync"): steady})
    assert run.drift_line(bench) == []
    bench = _bench(
        run,
        {("e2e", "cold", "venvsync"): steady, ("e2e", "cold", "tox-uv"): slower, ("sync", "bump", "tox-uv"): slower},
    )
    line = "\n".join(run.drift_line(bench))
    assert f"cold, tox-uv: 2.05{X}" in line
    assert "venvsync" not in line  # steady
    assert "bump" not in line  # a sync step cell: only end-to-end cells are listed
