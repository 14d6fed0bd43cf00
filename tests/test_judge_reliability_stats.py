"""Agreement statistics against published worked examples (issue 18)."""

import pytest

from mella_eval.judge_stats import cohen_kappa, identical_share, krippendorff_alpha

N = None
# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: four observers,
# twelve units, missing values. Published: nominal 0.743, interval 0.849.
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3],
    [N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N],
]
UNITS = [list(unit) for unit in zip(*KRIPPENDORFF_2011)]


def test_krippendorff_2011_worked_example():
    assert round(krippendorff_alpha(UNITS, "interval"), 3) == 0.849
    assert round(krippendorff_alpha(UNITS, "nominal"), 3) == 0.743
    # the same figures as the `krippendorff` package (0.8.1) gives for this table
    assert krippendorff_alpha(UNITS, "interval") == pytest.approx(0.8491071428571428, abs=1e-12)
    assert krippendorff_alpha(UNITS, "nominal") == pytest.approx(0.743421052631579, abs=1e-12)


def test_krippendorff_2011_binary_example():
    # Section A of the same paper: two observers, ten units, binary values; alpha = 0.095.
    a = [0, 1, 0, 0, 0, 0, 0, 0, 1, 0]
    b = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]
    assert round(krippendorff_alpha(list(zip(a, b)), "nominal"), 3) == 0.095


def test_alpha_edge_cases():
    assert krippendorff_alpha([[1, 2], [3, 4]]) is not None
    assert krippendorff_alpha([[3, 3], [3, 3]]) is None  # no variation: undefined
    assert krippendorff_alpha([[1], [2, N]]) is None  # nothing pairable
    assert krippendorff_alpha([[1, 1], [5, 5]]) == 1.0  # perfect agreement
    # units of repeats {1, 5} each: D_o = 16, D_e = 16U/(2U-1): alpha = -(U-1)/U
    assert krippendorff_alpha([[1, 5]] * 8) == pytest.approx(-7 / 8)
    with pytest.raises(ValueError):
        krippendorff_alpha(UNITS, "ratio")


def test_cohen_kappa_textbook_example():
    # 50 proposals read by two readers: yes/yes 20, yes/no 5, no/yes 10, no/no 15.
    # p_o = 0.7, p_e = 0.5 * 0.6 + 0.5 * 0.4 = 0.5, kappa = 0.4.
    first = ["yes"] * 25 + ["no"] * 25
    second = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert cohen_kappa(first, second) == pytest.approx(0.4)
    assert cohen_kappa(first, first) == 1.0
    assert cohen_kappa(["a", "a"], ["a", "a"]) is None  # chance agreement 1: undefined
    assert cohen_kappa(["a", None], [None, "b"]) is None  # no item labelled by both
    assert cohen_kappa(["a", "b", None], ["a", "b", "b"]) == 1.0  # the missing item is left out


def test_identical_share():
    assert identical_share([["a", "a"], ["a", "b"], ["b"]]) == 0.5  # the single is not pairable
    assert identical_share([[N], []]) is None
