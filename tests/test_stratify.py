"""Iterative stratification: exact sizes, seeded, rare labels on both sides, closer to target than random."""

from __future__ import annotations

import time

import numpy as np
import pytest

from baseline.tasks.stratify import _repair, iterative_stratified_rows


def _skewed(n: int, k: int, seed: int) -> np.ndarray:
    """Correlated labels with a long rare tail: rows from a few clusters, label rates falling as a power law."""
    rng = np.random.default_rng(seed)
    z = rng.integers(0, 6, n)
    rates = rng.random((6, k)) ** 3 * 0.6 * (np.arange(1, k + 1) ** -0.8)
    return (rng.random((n, k)) < rates[z]).astype(np.uint8)


def _deviation(Y: np.ndarray, test: np.ndarray, ratio: float) -> float:
    tot = Y.sum(0)
    used = tot > 0
    return float(np.abs(Y[test].sum(0)[used] / tot[used] - ratio).mean())


def _both_sides(Y: np.ndarray, train: np.ndarray, test: np.ndarray) -> bool:
    two = Y.sum(0) >= 2
    return bool(((Y[train].sum(0) > 0) & (Y[test].sum(0) > 0))[two].all())


@pytest.mark.parametrize(("n", "k", "n_test"), [(500, 10, 100), (1000, 30, 333), (97, 5, 1), (97, 5, 96),
                                                 (40, 8, 0), (40, 8, 40), (1, 3, 1), (0, 3, 0)])
def test_exact_sizes_a_partition_ascending(n, k, n_test):
    Y = _skewed(n, k, 0)
    train, test = iterative_stratified_rows(Y, n_test, seed=1)
    assert len(test) == n_test and len(train) == n - n_test
    assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(n))
    assert (np.diff(train) > 0).all() and (np.diff(test) > 0).all()
    assert train.dtype.kind == "i" and test.dtype.kind == "i"


def test_deterministic_for_a_seed_and_different_across_seeds():
    Y = _skewed(800, 20, 3)
    a = iterative_stratified_rows(Y, 160, seed=5)
    b = iterative_stratified_rows(Y.copy(), 160, seed=5)
    c = iterative_stratified_rows(Y, 160, seed=6)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[1], c[1])


@pytest.mark.parametrize("seed", range(8))
def test_every_label_with_two_rows_is_on_both_sides(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(100, 3000))
    Y = _skewed(n, int(rng.integers(5, 40)), seed)
    Y[:, 0] = 0
    Y[rng.choice(n, 2, replace=False), 0] = 1   # a label of exactly two rows
    train, test = iterative_stratified_rows(Y, int(n * rng.uniform(0.1, 0.4)), seed)
    assert _both_sides(Y, train, test)


def test_closer_to_each_labels_target_than_a_random_split():
    strat, rand = [], []
    for seed in range(6):
        Y = _skewed(2000, 40, seed)
        _, test = iterative_stratified_rows(Y, 400, seed)
        strat.append(_deviation(Y, test, 0.2))
        rand.append(_deviation(Y, np.random.default_rng(seed).permutation(2000)[:400], 0.2))
    assert np.mean(strat) < np.mean(rand) / 3


def test_rows_without_labels_fill_the_quota_at_random():
    Y = np.zeros((100, 4), dtype=np.uint8)
    Y[:10, 0] = 1
    train, test = iterative_stratified_rows(Y, 30, seed=0)
    assert len(test) == 30 and Y[test, 0].sum() == 3    # the labelled rows keep their share
    other = iterative_stratified_rows(Y, 30, seed=1)[1]
    assert not np.array_equal(test, other)
    empty = iterative_stratified_rows(np.zeros((50, 0)), 10, seed=0)
    assert len(empty[1]) == 10


def test_repair_swaps_a_row_without_taking_another_label_out_of_a_part():
    Y = np.array([[1, 0], [1, 0], [0, 1], [0, 1], [0, 0], [0, 0]], dtype=bool)
    side = np.array([0, 0, 0, 1, 1, 0], dtype=np.int8)    # label 0 only in train
    _repair(Y, side, Y.sum(0))
    assert (side == 1).sum() == 2
    assert Y[side == 1, 0].any() and Y[side == 0, 0].any()
    assert Y[side == 1, 1].any() and Y[side == 0, 1].any()
    assert side[4] == 0   # the unlabelled test row was the one swapped back


def test_bad_input():
    with pytest.raises(ValueError):
        iterative_stratified_rows(np.zeros(5), 1, 0)
    with pytest.raises(ValueError):
        iterative_stratified_rows(np.zeros((5, 2)), 6, 0)


def test_100k_rows_50_labels_fast():
    Y = _skewed(100_000, 50, 0)
    t = time.perf_counter()
    train, test = iterative_stratified_rows(Y, 20_000, seed=0)
    elapsed = time.perf_counter() - t
    assert len(test) == 20_000 and _both_sides(Y, train, test)
    assert elapsed < 20, elapsed   # ~0.1 s on two shared cores
