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
