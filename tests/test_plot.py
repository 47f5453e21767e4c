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
