"""bootstrap_counts built in row blocks equals the whole-matrix construction it replaced."""

import numpy as np
import pytest

from mella_eval.metrics.resample import bootstrap_counts


def whole_matrix(n, n_boot, seed):
    draws = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))
    flat = (draws + (np.arange(n_boot) * n)[:, None]).ravel()
    return np.bincount(flat, minlength=n_boot * n).reshape(n_boot, n).astype(np.float64)


@pytest.mark.parametrize("n,n_boot,seed", [(1, 1000, 0), (7, 1000, 3), (256, 1000, [1, 2]),
                                           (5000, 300, 11), (1100, 1000, 5), (3, 1, 9)])
def test_blocked_counts_equal_the_whole_matrix(n, n_boot, seed):
    got = bootstrap_counts(n, n_boot, seed)
    want = whole_matrix(n, n_boot, seed)
    assert got.dtype == want.dtype and got.shape == want.shape
    assert np.array_equal(got, want) and (got.sum(axis=1) == n).all()


@pytest.mark.parametrize("n,n_boot,seed", [(70001, 40, 2), (12345, 90, [0, 7, 8]), (2, 1000, 1)])
def test_draws_made_in_blocks_are_the_one_call_stream(n, n_boot, seed):
    """Many row blocks (odd sizes, odd n): the same numbers as one (n_boot, n) draw."""
    assert np.array_equal(bootstrap_counts(n, n_boot, seed), whole_matrix(n, n_boot, seed))


def test_columns_put_the_counts_in_that_order():
    rng = np.random.default_rng(4)
    for n in (1, 9, 3000):
        columns = rng.permutation(n)
        want = whole_matrix(n, 500, 6)[:, columns]
        got = bootstrap_counts(n, 500, 6, columns=columns)
        assert got.flags.c_contiguous and np.array_equal(got, want)
