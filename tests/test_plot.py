"""saddle.plot helpers: the numbers they draw, against hand computations."""

import numpy as np

from saddle import plot as splot


def test_ecdf_counts_never_in_the_denominator():
    fig, ax = splot.figure()
    line = splot.ecdf(ax, np.array([3, -1, 1, 2]))
    # 4 runs, one never: the curve climbs by 1/4 at t = 1, 2, 3 and stops at 3/4
    np.testing.assert_array_equal(line.get_xdata(), [0.5, 1, 2, 3])
    np.testing.assert_array_equal(line.get_ydata(), [0, 0.25, 0.5, 0.75])
    splot.plt.close(fig)


def test_grouped_intervals_positions_and_error_bars():
    fig, ax = splot.figure()
    c = np.array([[1.0, 2.0], [3.0, 4.0]])
    xs = splot.grouped_intervals(ax, c, c - 0.5, c + 1.0, names=["a", "b"], colors=["k", "r"])
    # two series in a slot of width 0.8: offsets ∓0.2 around each group index
    np.testing.assert_allclose(xs, [[-0.2, 0.8], [0.2, 1.2]])
    assert [t.get_text() for t in ax.legend().get_texts()] == ["a", "b"]
    splot.plt.close(fig)


def test_panels_hide_the_unused_cells():
    fig, axes = splot.panels(5, 3, col_width=2.0, row_height=1.5, extra_height=0.5)
    assert len(axes) == 5 and all(ax.get_visible() for ax in axes)
    assert sum(not ax.get_visible() for ax in fig.axes) == 1  # 2 × 3 grid, one hidden
    np.testing.assert_allclose(fig.get_size_inches(), [6.0, 3.5])
    splot.plt.close(fig)


def test_ecdfs_write_never_shares_and_mark_the_budget():
    fig, ax = splot.figure()
    h = splot.ecdfs(ax, {"a": np.array([1, 2, -1, -1]), "b": np.array([1, 2, 3, 4])},
                    {"a": "k", "b": "r"}, budget=10)
    texts = [t.get_text() for t in ax.texts]
    assert texts == ["a: 50.0% never"]  # b escaped everywhere: no text
    assert list(h) == ["a", "b", "step budget (10)"]
    np.testing.assert_array_equal(h["step budget (10)"].get_xdata(), [10, 10])
    fig2, ax2 = splot.figure()
    assert list(splot.ecdfs(ax2, {"b": np.array([1, 2])}, {"b": "r"}, budget=10)) == ["b"]
    splot.plt.close(fig)
    splot.plt.close(fig2)


def test_grouped_intervals_mark_censored_estimates():
    fig, ax = splot.figure()
    c = np.array([[1.0, 2.0], [3.0, 4.0]])
    splot.grouped_intervals(ax, c, c - 0.5, c + 1.0, names=["a", "b"], colors=["k", "r"],
                            censored=np.array([[False, True], [False, False]]))
    marks = [ln for ln in ax.lines if ln.get_marker() == "^"]
    assert [(list(m.get_xdata()), list(m.get_ydata())) for m in marks] == [
        ([0.8], [2.0]), ([], [])]
    splot.plt.close(fig)


def test_number_points_pushes_labels_away_from_the_nearest_neighbour():
    fig, ax = splot.figure()
    splot.number_points(ax, np.array([[0.0, 0.0], [1.0, 0.0], [5.0, 5.0]]), np.ones(2))
    labels = {t.get_text(): t.xyann for t in ax.texts}
    assert labels["1"] == (-13, -3) and labels["2"] == (7, -3)  # left of / right of each other
    splot.plt.close(fig)


def test_table_colors_and_compare_counts():
    fig, (a, b) = splot.figure(1, 2)
    tab = splot.table(a, [["1", "x"], ["2", "y"]], ["#", "name"], [0.3, 0.7],
                      [[None, "red"], None])
    assert tab[1, 1].get_text().get_color() == "red"
    assert tab[0, 0].get_text().get_weight() == "bold"
    splot.compare_counts(b, [4, 4, 1], [4, 3, 1])
    assert [(t.get_text(), t.get_color()) for t in b.texts] == [
        ("4", "k"), ("3", "red"), ("1", "k")]
    splot.plt.close(fig)


def test_basin_image_colors_minima_and_marks_diverged():
    """Grid starts (x, y) in saddle.starts.grid order, y fastest: (0,0) ends at minimum 0,
    (0,1) at minimum 2, (1,0) diverged, (1,1) unassigned; the image is indexed [y, x] with
    codes 0 black (diverged), 1 grey, 2 + j the colour of minima[j]."""
    fig, ax = splot.figure()
    img = splot.basin_image(ax, np.array([0, 2, -2, -1]), 2, ((0, 0), (1, 1)), minima=[0, 2],
                       colors=["r", "b"])
    np.testing.assert_array_equal(img.get_array(), [[2, 0], [3, 1]])
    assert img.get_extent() == [0.0, 1.0, 0.0, 1.0]
    assert [img.cmap(img.norm(v))[:3] for v in (0, 2, 3)] == [(0, 0, 0), (1, 0, 0), (0, 0, 1)]
    splot.plt.close(fig)


def test_kind_handles_follow_kind_style():
    handles = splot.kind_handles()
    assert [h.get_label() for h in handles] == list(splot.KIND_STYLE)
    assert [h.get_marker() for h in handles] == [s["marker"] for s in splot.KIND_STYLE.values()]
