"""The comparison metrics, without the database, against values worked out by hand in the comments."""

import math

import pytest

from runs.agreement import (
    agreement,
    average_ranks,
    cohens_kappa,
    confusion_matrix,
    mean_abs_diff,
    mismatch_share,
    spearman,
)
from runs.operations.audit_scan.comparison import signal_kind, signal_names, tier_gap
from runs.operations.audit_scan.scoring import TIERS
from runs.operations.audit_scan.signals import SIGNAL_KEYS

H, M, L, S = "HIGH", "MODERATE", "LOW", "SKIP"


# --- tier agreement --------------------------------------------------------------------------------
def test_tier_agreement_is_the_share_of_equal_positions():
    # Positions 1 (HIGH=HIGH) and 3 (SKIP=SKIP) agree, 2 and 4 do not: 2/4 = 0.5.
    assert agreement([H, L, S, L], [H, M, S, S]) == 0.5


def test_tier_agreement_of_identical_lists_is_one():
    assert agreement([H, M, L], [H, M, L]) == 1.0


def test_tier_agreement_of_empty_lists_is_none():
    assert agreement([], []) is None


def test_paired_metrics_refuse_lists_of_different_lengths():
    for metric in (agreement, cohens_kappa, spearman, mean_abs_diff):
        with pytest.raises(ValueError, match="differ in length"):
            metric([1, 2], [1])


# --- Cohen's kappa ---------------------------------------------------------------------------------
def test_kappa_two_categories():
    # 20 items rated yes/no:        b yes   b no
    #                      a yes      12      3     (a: 15 yes)
    #                      a no        1      4     (a:  5 no)
    #                   (b: 13 yes, 7 no)
    # p_o = (12 + 4) / 20 = 0.8
    # p_e = (15/20)(13/20) + (5/20)(7/20) = 0.4875 + 0.0875 = 0.575
    # kappa = (0.8 - 0.575) / (1 - 0.575) = 0.225 / 0.425 = 9/17 = 0.5294...
    a = ["yes"] * 12 + ["yes"] * 3 + ["no"] * 1 + ["no"] * 4
    b = ["yes"] * 12 + ["no"] * 3 + ["yes"] * 1 + ["no"] * 4
    assert cohens_kappa(a, b, labels=("yes", "no")) == pytest.approx(9 / 17)


def test_kappa_labels_never_used_change_nothing():
    # Unused categories add 0 * 0 to p_e: the default TIERS labels give the same 9/17 as above.
    a = ["yes"] * 15 + ["no"] * 5
    b = ["yes"] * 12 + ["no"] * 3 + ["yes"] * 1 + ["no"] * 4
    assert cohens_kappa(a, b) == pytest.approx(9 / 17)


def test_kappa_four_tiers():
    # a: H H H M M L L L S S      counts a: H 3, M 2, L 3, S 2
    # b: H H M M L L L S S S      counts b: H 2, M 2, L 3, S 3
    # agree at positions 1, 2, 4, 6, 7, 9, 10: p_o = 7/10 = 0.7
    # p_e = (3*2 + 2*2 + 3*3 + 2*3) / 10^2 = (6 + 4 + 9 + 6) / 100 = 0.25
    # kappa = (0.7 - 0.25) / (1 - 0.25) = 0.45 / 0.75 = 0.6
    a = [H, H, H, M, M, L, L, L, S, S]
    b = [H, H, M, M, L, L, L, S, S, S]
    assert cohens_kappa(a, b) == pytest.approx(0.6)


def test_kappa_of_identical_lists_is_one():
    # p_o = 1, p_e = (2*2 + 1*1 + 1*1) / 16 = 0.375: (1 - 0.375) / (1 - 0.375) = 1.
    assert cohens_kappa([H, M, H, S], [H, M, H, S]) == 1.0


def test_kappa_when_both_sides_use_one_and_the_same_category_is_one_by_convention():
    # p_o = 1 and p_e = (3*3)/9 = 1: kappa is 0/0; both raters agree on everything, so 1.0.
    assert cohens_kappa([L, L, L], [L, L, L]) == 1.0


def test_kappa_when_one_side_uses_a_single_category_is_zero():
    # a: H H H H, b: H M L S. p_o = 1/4; p_e = (4*1)/16 = 1/4: (1/4 - 1/4) / (3/4) = 0.
    assert cohens_kappa([H, H, H, H], [H, M, L, S]) == 0.0


def test_kappa_of_complete_disagreement_is_negative():
    # a: H H M M, b: M M H H. p_o = 0; p_e = (2*2 + 2*2)/16 = 0.5: (0 - 0.5) / (1 - 0.5) = -1.
    assert cohens_kappa([H, H, M, M], [M, M, H, H]) == -1.0
    # a: H M L S, b: M L S H. p_o = 0; p_e = 4 * (1*1)/16 = 0.25: (0 - 0.25) / 0.75 = -1/3.
    assert cohens_kappa([H, M, L, S], [M, L, S, H]) == pytest.approx(-1 / 3)


def test_kappa_of_empty_lists_is_none():
    assert cohens_kappa([], []) is None


def test_kappa_counts_values_outside_the_labels():
    # Operations without tiers store "": a = ["", ""], b = ["", "x"]. p_o = 1/2;
    # p_e = ("" : 2*1 + "x": 0*1) / 4 = 1/2: (1/2 - 1/2) / (1/2) = 0.
    assert cohens_kappa(["", ""], ["", "x"]) == 0.0


# --- Spearman --------------------------------------------------------------------------------------
def test_average_ranks_give_ties_the_mean_rank():
    # Sorted: 1 (index 1) rank 1, 2 (index 4) rank 2, the three 3s take ranks 3, 4, 5: mean 4.
    assert average_ranks([3, 1, 3, 3, 2]) == [4.0, 1.0, 4.0, 4.0, 2.0]
    assert average_ranks([]) == []


def test_spearman_with_ties():
    # x = 10 20 20 30 40 -> ranks 1 2.5 2.5 4 5 (the two 20s share ranks 2 and 3)
    # y =  1  3  2  5  4 -> ranks 1 3   2   5 4
    # both means are 3; deviations dx = -2 -0.5 -0.5 1 2, dy = -2 0 -1 2 1
    # sum dx*dy = 4 + 0 + 0.5 + 2 + 2 = 8.5
    # sum dx^2 = 4 + 0.25 + 0.25 + 1 + 4 = 9.5; sum dy^2 = 4 + 0 + 1 + 4 + 1 = 10
    # rho = 8.5 / sqrt(9.5 * 10) = 8.5 / sqrt(95) = 0.87208...
    rho = spearman([10, 20, 20, 30, 40], [1, 3, 2, 5, 4])
    assert rho == pytest.approx(8.5 / math.sqrt(95))
    assert rho == pytest.approx(0.872082, abs=1e-6)


def test_spearman_with_ties_on_both_sides():
    # x = 1 1 2 2 -> ranks 1.5 1.5 3.5 3.5; y = 5 6 6 7 -> ranks 1 2.5 2.5 4
    # means 2.5; dx = -1 -1 1 1, dy = -1.5 0 0 1.5
    # sum dx*dy = 1.5 + 0 + 0 + 1.5 = 3; sum dx^2 = 4; sum dy^2 = 2.25 + 2.25 = 4.5
    # rho = 3 / sqrt(4 * 4.5) = 3 / sqrt(18) = 0.70710... (= 1/sqrt(2))
    assert spearman([1, 1, 2, 2], [5, 6, 6, 7]) == pytest.approx(1 / math.sqrt(2))


def test_spearman_only_looks_at_the_order():
    # Ranks are 1 2 3 4 on both sides although y grows much faster than x: rho = 1.
    assert spearman([1, 2, 3, 4], [1, 4, 9, 100]) == pytest.approx(1.0)


def test_spearman_of_perfectly_inverse_orders_is_minus_one():
    # Ranks 1 2 3 4 against 4 3 2 1: dx = -1.5 -0.5 0.5 1.5, dy = -dx, so rho = -sum dx^2 / sum dx^2 = -1.
    assert spearman([1, 2, 3, 4], [8, 6, 4, 2]) == pytest.approx(-1.0)


def test_spearman_of_a_constant_side_is_none():
    # All ranks 2 (mean of 1, 2, 3): no variance, the correlation is 0/0.
    assert spearman([5, 5, 5], [1, 2, 3]) is None
    assert spearman([1, 2, 3], [7, 7, 7]) is None


def test_spearman_needs_two_pairs():
    assert spearman([4], [9]) is None
    assert spearman([], []) is None


# --- mean absolute difference ----------------------------------------------------------------------
def test_mean_abs_diff():
    # |3 - 1| + |0 - 0| + |5 - 9| = 2 + 0 + 4 = 6; 6 / 3 = 2.0
    assert mean_abs_diff([3, 0, 5], [1, 0, 9]) == 2.0


def test_mean_abs_diff_of_identical_lists_is_zero_and_of_empty_ones_none():
    assert mean_abs_diff([1, 2, 3], [1, 2, 3]) == 0.0
    assert mean_abs_diff([], []) is None


def test_mismatch_share():
    # Only the second pair differs: 1/4 = 0.25.
    assert mismatch_share(["none", "clean", True, False], ["none", "edited", True, False]) == 0.25
    assert mismatch_share([], []) is None


# --- helpers ---------------------------------------------------------------------------------------
def test_tier_gap_counts_tiers_in_order():
    assert tier_gap(H, S) == 3
    assert tier_gap(L, M) == 1
    assert tier_gap(M, M) == 0
    # A tier outside TIERS differs by an unknown distance, counted as 1.
    assert tier_gap("", "") == 0
    assert tier_gap("", H) == 1


def test_signal_kinds():
    assert signal_kind("lines") == "numeric"
    assert signal_kind("symbol_refs") == "numeric"
    for name in ("last_audited", "audit_result", "has_redirect"):
        assert signal_kind(name) == "exact"
    # Signals of another operation: numeric only when every value seen is a number (bools are not).
    assert signal_kind("findings", [1, 2, None]) == "numeric"
    assert signal_kind("verdict", ["keep", "drop"]) == "exact"
    assert signal_kind("flag", [True, False]) == "exact"
    assert signal_kind("unseen", []) == "exact"


def test_signal_names_follow_signal_keys_without_path():
    names = signal_names([{key: 0 for key in reversed(SIGNAL_KEYS)}, {"zeta": 1, "alpha": 2}])
    assert names == [*SIGNAL_KEYS[1:], "alpha", "zeta"]


def test_confusion_matrix_has_every_tier_with_zeros():
    # Pairs: (H,H) (H,M) (L,L) (L,L)
    matrix = confusion_matrix([H, H, L, L], [H, M, L, L], TIERS)
    assert list(matrix) == [H, M, L, S]
    assert matrix[H] == {H: 1, M: 1, L: 0, S: 0}
    assert matrix[L] == {H: 0, M: 0, L: 2, S: 0}
    assert matrix[M] == matrix[S] == {H: 0, M: 0, L: 0, S: 0}
    assert confusion_matrix([], [], TIERS)[H] == {H: 0, M: 0, L: 0, S: 0}
