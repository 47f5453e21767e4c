"""Small data sets that need no download, each split into train and test by a seed.

Every random draw (samples, noise, the split) comes from ``jax.random`` keys derived from
``seed``: ``key(seed)`` gives independent keys (``fold_in`` 0 and 1) for generating the data
and for the train/test split. Draws are made on the CPU in float32 / uint32, so a seed gives
the same arrays on every host and with or without float64. Classification sets are split
stratified by class: round(n_c · test_fraction) of each class c go to test.

>>> import saddle.data
>>> ds = saddle.data.load("xor", n=40)
>>> ds.x_train.shape, ds.y_train.dtype.name, ds.n_classes
((30, 2), 'int32', 2)
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Callable, Iterator
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from scipy.linalg import helmert
from scipy.ndimage import gaussian_filter1d

__all__ = [
    "Dataset",
    "digits",
    "gaussian_mixture",
    "load",
    "mixture_means",
    "mnist1d",
    "names",
    "spirals",
    "teacher_student",
    "xor",
]


@dataclasses.dataclass(frozen=True, eq=False)
class Dataset:
    """A data set split into train and test (read-only numpy arrays).

    ``x_train``: ``[n_train, ...]`` float32 inputs; ``y_train``: ``[n_train]`` int32 labels in
    ``0 .. n_classes - 1`` (classification) or ``[n_train, k]`` float32 targets (regression,
    ``n_classes`` None); ``x_test``, ``y_test`` likewise with ``n_test`` rows.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int | None

    def __post_init__(self) -> None:
        if self.n_classes is not None and (isinstance(self.n_classes, bool) or self.n_classes < 1):
            raise ValueError(f"n_classes must be None or an int >= 1, got {self.n_classes!r}")
        for part in ("train", "test"):
            x = _frozen(getattr(self, f"x_{part}"), np.float32)
            y_dtype = np.float32 if self.n_classes is None else np.int32
            y = _frozen(getattr(self, f"y_{part}"), y_dtype)
            if x.ndim < 1 or y.shape[:1] != x.shape[:1]:
                raise ValueError(f"x_{part} and y_{part} must have the same number of rows, "
                                 f"got shapes {x.shape} and {y.shape}")
            if self.n_classes is None and y.ndim != 2:
                raise ValueError(f"y_{part} must be [n, k] regression targets, got shape {y.shape}")
            if self.n_classes is not None and (
                    y.ndim != 1 or (y.size and not 0 <= y.min() <= y.max() < self.n_classes)):
                raise ValueError(f"y_{part} must be [n] labels in 0..{self.n_classes - 1}")
            object.__setattr__(self, f"x_{part}", x)
            object.__setattr__(self, f"y_{part}", y)

    @property
    def train(self) -> tuple[np.ndarray, np.ndarray]:
        """``(x_train, y_train)``."""
        return self.x_train, self.y_train

    @property
    def test(self) -> tuple[np.ndarray, np.ndarray]:
        """``(x_test, y_test)``."""
        return self.x_test, self.y_test

    def __repr__(self) -> str:
        return (f"Dataset(name={self.name!r}, x_train={self.x_train.shape}, "
                f"x_test={self.x_test.shape}, y_train={self.y_train.shape}, "
                f"n_classes={self.n_classes})")


def _frozen(a: Any, dtype: Any) -> np.ndarray:
    out = np.array(a, dtype=dtype, copy=True)
    out.setflags(write=False)
    return out


# ----------------------------------------------------------------------------- checks
def _seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise TypeError(f"seed must be an int, got {seed!r}")
    return int(seed)


def _int(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _number(value: Any, name: str, *, positive: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(v) or v < 0 or (positive and v == 0):
        raise ValueError(f"{name} must be a finite number {'>' if positive else '>='} 0, "
                         f"got {value!r}")
    return v


def _fraction(value: Any) -> float:
    v = _number(value, "test_fraction")
    if not 0 < v < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {value!r}")
    return v


def _bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be a bool, got {value!r}")
    return bool(value)


# ----------------------------------------------------------------------------- randomness
# A draw of any size is a prefix of a stream of fixed-size jax.random blocks (block i from
# fold_in(key, i)), made on the CPU in float32 / uint32: one compiled program serves every
# data set and size, and a seed gives the same bits on every host, with or without float64.
_BLOCK = 1 << 14


@contextlib.contextmanager
def _on_cpu() -> Iterator[None]:
    try:
        cpu = jax.devices("cpu")[0]
    except RuntimeError:  # no CPU backend: draw where jax puts it
        yield
        return
    with jax.default_device(cpu):
        yield


@jax.jit
def _block(key: jax.Array) -> dict[str, jax.Array]:
    """One block of each kind (one compiled program; a stream uses one kind per key)."""
    return {"uniform": jax.random.uniform(key, (_BLOCK,), dtype=jnp.float32),
            "normal": jax.random.normal(key, (_BLOCK,), dtype=jnp.float32),
            "bits": jax.random.bits(key, (_BLOCK,), dtype=jnp.uint32)}


def _keys(seed: int) -> tuple[jax.Array, jax.Array]:
    """(generation key, split key) from ``seed``."""
    with _on_cpu():
        key = jax.random.key(seed)
        return jax.random.fold_in(key, 0), jax.random.fold_in(key, 1)


def _sub(key: jax.Array, i: int) -> jax.Array:
    with _on_cpu():
        return jax.random.fold_in(key, i)


def _draw(key: jax.Array, kind: str, shape: tuple[int, ...]) -> np.ndarray:
    size = math.prod(shape)
    with _on_cpu():
        blocks = [np.asarray(_block(jax.random.fold_in(key, i))[kind])
                  for i in range(max(1, -(-size // _BLOCK)))]
    return np.concatenate(blocks)[:size].reshape(shape)


def _uniform(key: jax.Array, shape: tuple[int, ...]) -> np.ndarray:
    """U[0, 1) (float32 draws, as float64)."""
    return _draw(key, "uniform", shape).astype(np.float64)


def _normal(key: jax.Array, shape: tuple[int, ...]) -> np.ndarray:
    """N(0, 1) (float32 draws, as float64)."""
    return _draw(key, "normal", shape).astype(np.float64)


def _randint(key: jax.Array, shape: tuple[int, ...], low: int, high: int) -> np.ndarray:
    """Integers uniform in {low, ..., high - 1}: ``low + floor(u · (high - low))``."""
    return low + np.floor(_uniform(key, shape) * (high - low)).astype(np.int64)


def _permutation(key: jax.Array, n: int) -> np.ndarray:
    """A uniform random permutation of ``range(n)``: the order of iid 64-bit random keys."""
    bits = _draw(key, "bits", (n, 2)).astype(np.uint64)
    return np.argsort((bits[:, 0] << np.uint64(32)) | bits[:, 1], kind="stable")


# ----------------------------------------------------------------------------- splits
def _n_test(count: int, test_fraction: float) -> int:
    return math.floor(count * test_fraction + 0.5)


def _check_split(counts: np.ndarray, test_fraction: float) -> np.ndarray:
    """Test-set size per class, round(count · test_fraction); every class in both splits."""
    n_test = np.array([_n_test(int(c), test_fraction) for c in counts])
    for c, (count, m) in enumerate(zip(counts, n_test, strict=True)):
        if not 1 <= m <= count - 1:
            what = f"n={count}" if len(counts) == 1 else f"class {c} ({count} samples)"
            raise ValueError(f"test_fraction={test_fraction} leaves {what} with an empty "
                             f"train or test split")
    return n_test


def _split(key: jax.Array, labels: np.ndarray, n_test: np.ndarray) -> tuple[np.ndarray, ...]:
    """Indices (train, test): for each class ``c`` a random ``n_test[c]`` of its samples go to
    test, the rest to train; both index lists in random order."""
    n = labels.shape[0]
    perm = _permutation(_sub(key, 0), n)
    order = perm[np.argsort(labels[perm], kind="stable")]  # grouped by class, random within
    counts = np.bincount(labels, minlength=n_test.shape[0])
    rank = np.arange(n) - np.repeat(np.cumsum(counts) - counts, counts)
    is_test = rank < np.repeat(n_test, counts)
    train, test = order[~is_test], order[is_test]
    train = train[_permutation(_sub(key, 1), train.shape[0])]
    test = test[_permutation(_sub(key, 2), test.shape[0])]
    return train, test


def _classification(name: str, key: jax.Array, x: np.ndarray, labels: np.ndarray,
                    n_classes: int, n_test: np.ndarray) -> Dataset:
    train, test = _split(key, labels, n_test)
    return Dataset(name, x[train], labels[train], x[test], labels[test], n_classes)


def _balanced_labels(n: int, k: int, test_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    labels = np.arange(n) % k
    return labels, _check_split(np.bincount(labels, minlength=k), test_fraction)


# ----------------------------------------------------------------------------- digits
def digits(seed: int = 0, *, test_fraction: float = 0.25, standardize: bool = True) -> Dataset:
    """scikit-learn's bundled handwritten digits (UCI optdigits test set): 1797 images of 8 × 8
    pixels, ``x`` ``[n, 64]`` scaled to [0, 1] (÷ 16), 10 classes, split stratified by class.

    ``standardize``: each feature becomes ``(x - mean) / std`` with the train split's mean and
    std (``sklearn.preprocessing.StandardScaler``; a feature constant on train is only
    centred, so it is 0 on train).
    """
    seed, test_fraction = _seed(seed), _fraction(test_fraction)
    standardize = _bool(standardize, "standardize")
    from sklearn.datasets import load_digits
    from sklearn.preprocessing import StandardScaler

    raw = load_digits()
    x, labels = raw.data / 16.0, raw.target.astype(np.int32)
    n_test = _check_split(np.bincount(labels, minlength=10), test_fraction)
    train, test = _split(_keys(seed)[1], labels, n_test)
    x_train, x_test = x[train], x[test]
    if standardize:
        scaler = StandardScaler().fit(x_train)
        x_train, x_test = scaler.transform(x_train), scaler.transform(x_test)
    return Dataset("digits", x_train, labels[train], x_test, labels[test], 10)


# ----------------------------------------------------------------------------- mnist1d
# Defaults of mnist1d.data.get_dataset_args at greydanus/mnist1d@7878d96 (num_samples,
# train_split and seed are n, test_fraction and seed here).
MNIST1D_DEFAULTS: dict[str, Any] = {
    "template_len": 12,
    "padding": (36, 60),
    "scale_coeff": 0.4,
    "max_translation": 48,
    "corr_noise_scale": 0.25,
    "iid_noise_scale": 2e-2,
    "shear_scale": 0.75,
    "shuffle_seq": False,
    "final_seq_length": 40,
}
_MNIST1D_RENAMED = {"num_samples": "n", "train_split": "test_fraction", "seed": "seed"}


def _mnist1d_templates() -> np.ndarray:
    """``[10, 12]`` 1-D templates of the digits 0–9 (``get_templates`` of the reference)."""
    d = np.asarray([
        [5, 6, 6.5, 6.75, 7, 7, 7, 7, 6.75, 6.5, 6, 5],
        [5, 3, 3, 3.4, 3.8, 4.2, 4.6, 5, 5.4, 5.8, 5, 5],
        [5, 6, 6.5, 6.5, 6, 5.25, 4.75, 4, 3.5, 3.5, 4, 5],
        [5, 6, 6.5, 6.5, 6, 5, 5, 6, 6.5, 6.5, 6, 5],
        [5, 4.4, 3.8, 3.2, 2.6, 2.6, 5, 5, 5, 5, 5, 5],
        [5, 3, 3, 3, 3, 5, 6, 6.5, 6.5, 6, 4.5, 5],
        [5, 4, 3.5, 3.25, 3, 3, 3, 3, 3.25, 3.5, 4, 5],
        [5, 7, 7, 6.6, 6.2, 5.8, 5.4, 5, 4.6, 4.2, 5, 5],
        [5, 4, 3.5, 3.5, 4, 5, 5, 4, 3.5, 3.5, 4, 5],
        [5, 4, 3.5, 3.5, 4, 5, 5, 5, 5, 4.7, 4.3, 5],
    ])
    d -= d.mean(1, keepdims=True)
    d /= d.std(1, keepdims=True)
    d -= d[:, :1]  # signal starts and ends at 0
    return d / 6.0


def _mnist1d_args(overrides: dict[str, Any]) -> dict[str, Any]:
    for name in overrides:
        if name not in MNIST1D_DEFAULTS:
            hint = (f" (it is {_MNIST1D_RENAMED[name]!r} here)" if name in _MNIST1D_RENAMED
                    else "")
            raise ValueError(f"unknown mnist1d argument {name!r}{hint}; known: "
                             f"{', '.join(MNIST1D_DEFAULTS)}")
    a = {**MNIST1D_DEFAULTS, **overrides}
    a["template_len"] = _int(a["template_len"], "template_len", 1)
    try:
        low, high = a["padding"]
    except (TypeError, ValueError):
        raise ValueError(f"padding must be a pair (low, high), got {a['padding']!r}") from None
    low, high = _int(low, "padding[0]", 0), _int(high, "padding[1]", 0)
    if low > high:
        raise ValueError(f"padding must have low <= high, got {a['padding']!r}")
    a["padding"] = (low, high)
    length = a["template_len"] + high
    if length < 2:
        raise ValueError(f"template_len + padding[1] must be >= 2, got {length}")
    a["max_translation"] = _int(a["max_translation"], "max_translation", 1)
    if a["max_translation"] > length:
        raise ValueError(f"max_translation must be <= template_len + padding[1] = {length}, "
                         f"got {a['max_translation']}")
    for name in ("scale_coeff", "corr_noise_scale", "iid_noise_scale", "shear_scale"):
        a[name] = _number(a[name], name)
    a["shuffle_seq"] = _bool(a["shuffle_seq"], "shuffle_seq")
    a["final_seq_length"] = _int(a["final_seq_length"], "final_seq_length", 2)
    return a


def _mnist1d_draws(key: jax.Array, n: int, a: dict[str, Any]) -> dict[str, np.ndarray]:
    """The random parameters of ``n`` samples, one row each (the reference's draw order):
    padding ``pad`` ∈ {low..high}, scale uniform ``u_scale``, translation ``shift`` ∈
    {0..max_translation-1}, standard normal ``z_corr`` and ``z_iid`` ``[n, L]``, shear uniform
    ``u_shear``, and ``seq_perm``, a permutation of the final positions."""
    low, high = a["padding"]
    length = a["template_len"] + high
    return {
        "pad": _randint(_sub(key, 0), (n,), low, high + 1),
        "u_scale": _uniform(_sub(key, 1), (n,)),
        "shift": _randint(_sub(key, 2), (n,), 0, a["max_translation"]),
        "z_corr": _normal(_sub(key, 3), (n, length)),
        "z_iid": _normal(_sub(key, 4), (n, length)),
        "u_shear": _uniform(_sub(key, 5), (n,)),
        "seq_perm": _permutation(_sub(key, 6), a["final_seq_length"]),
    }


def _resample(x: np.ndarray, length: int) -> np.ndarray:
    """Linear interpolation of each row of ``x [n, m]`` from ``m`` to ``length`` equispaced
    points on [0, 1] (the reference's ``interpolate``: scipy's ``interp1d`` hands 1-D data to
    ``np.interp``, so the same call here gives the same bits)."""
    old, new = np.linspace(0, 1, x.shape[-1]), np.linspace(0, 1, length)
    return np.stack([np.interp(new, old, row) for row in x]).reshape(x.shape[0], length)


def _pad_dilate(x: np.ndarray, pad: np.ndarray, length: int) -> np.ndarray:
    """Row ``i`` of ``x [n, m]`` followed by ``pad[i]`` zeros, resampled to ``length`` points."""
    out = np.empty((x.shape[0], length))
    for p in np.unique(pad):
        rows = pad == p
        out[rows] = _resample(np.concatenate([x[rows], np.zeros((rows.sum(), p))], 1), length)
    return out


def _translate(x: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """Row ``i`` rotated right by ``shift[i]`` places (``out[j] = x[(j - shift) mod L]``)."""
    length = x.shape[-1]
    return np.take_along_axis(x, (np.arange(length) - shift[:, None]) % length, axis=-1)


def _add_noise(x: np.ndarray, z_corr: np.ndarray, z_iid: np.ndarray, a: dict[str, Any]
               ) -> np.ndarray:
    """Zeros replaced by correlated noise (Gaussian filter, σ = 2 samples, of
    ``corr_noise_scale · z_corr``), then iid noise ``iid_noise_scale · z_iid`` added."""
    mask = x != 0
    corr = gaussian_filter1d(a["corr_noise_scale"] * z_corr, 2, axis=-1)
    return mask * x + (1 - mask) * corr + a["iid_noise_scale"] * z_iid


def _shear(x: np.ndarray, u: np.ndarray, scale: float) -> np.ndarray:
    """Minus a line of slope ``scale · (u - 1/2)`` across the row, from -1/2 to 1/2."""
    return x - (scale * (u - 0.5))[:, None] * np.linspace(-0.5, 0.5, x.shape[-1])


def _mnist1d_signals(labels: np.ndarray, d: dict[str, np.ndarray], a: dict[str, Any],
                     eps: float = 1e-8) -> np.ndarray:
    """``[n, final_seq_length]`` transformed templates (the reference's ``transform``), before
    the batch shuffle, the optional position shuffle and the global standardisation."""
    length = a["template_len"] + a["padding"][1]
    x = _pad_dilate(_mnist1d_templates()[labels] + eps, d["pad"], length)
    x = x * (1 + a["scale_coeff"] * (d["u_scale"] - 0.5))[:, None]
    x = _translate(x, d["shift"])
    x = _add_noise(x, d["z_corr"], d["z_iid"], a)
    x = _shear(x, d["u_shear"], a["shear_scale"])
    return _resample(x, a["final_seq_length"])


def mnist1d(seed: int = 0, *, n: int = 5000, test_fraction: float = 0.2,
            **overrides: Any) -> Dataset:
    """MNIST-1D (Greydanus 2020), generated here: ``x`` ``[n, 40]``, 10 balanced classes.

    The pipeline of ``make_dataset`` in greydanus/mnist1d@7878d96 (``mnist1d/data.py``,
    ``mnist1d/transform.py``) with its default arguments ``MNIST1D_DEFAULTS``: each digit's
    12-point template (+1e-8) is padded with 36–60 zeros and resampled to 72 points, scaled by
    ``1 + 0.4 (u - 1/2)``, rotated right by 0–47 places; its zeros are replaced by Gaussian-
    filtered (σ = 2) noise of scale 0.25, iid noise of scale 0.02 is added, a shear line of
    slope ``0.75 (u - 1/2)`` subtracted, and the result resampled to 40 points. ``n / 10``
    samples per digit; the batch is shuffled (with ``shuffle_seq``, so are the 40 positions,
    by one permutation), then standardised with the mean and std of
    all its values (train and test, as the reference does), and the first
    ``n - round(n · test_fraction)`` are train. ``overrides`` replace entries of
    ``MNIST1D_DEFAULTS``. The draws come from ``jax.random`` (integers as ``low + floor(u ·
    m)`` of a uniform ``u``, as the reference's ``pad`` does), so the numbers differ from the
    reference's; the distribution is the same. Never downloaded.

    References:
        Greydanus, "Scaling down deep learning", arXiv:2011.14439 (2020).
    """
    seed, test_fraction = _seed(seed), _fraction(test_fraction)
    n = _int(n, "n", 20)
    if n % 10:
        raise ValueError(f"n must be a multiple of 10 (n // 10 samples of each digit), got {n}")
    a = _mnist1d_args(overrides)
    n_test = _check_split(np.array([n]), test_fraction)[0]
    labels = np.repeat(np.arange(10, dtype=np.int32), n // 10)  # label-major, as the reference
    k_data, k_split = _keys(seed)
    draws = _mnist1d_draws(k_data, n, a)
    shuffle = _permutation(k_split, n)
    x = _mnist1d_signals(labels, draws, a)[shuffle]
    labels = labels[shuffle]
    if a["shuffle_seq"]:
        x = x[:, draws["seq_perm"]]
    x = (x - x.mean()) / x.std()
    m = n - n_test
    return Dataset("mnist1d", x[:m], labels[:m], x[m:], labels[m:], 10)


# ----------------------------------------------------------------------------- toy sets
def spirals(seed: int = 0, *, n: int = 1000, noise: float = 0.2, turns: float = 1.5,
            test_fraction: float = 0.25) -> Dataset:
    """Two interleaved Archimedean spirals in the plane, ``x`` ``[n, 2]``, 2 classes.

    Arm ``c`` ∈ {0, 1}: ``x = (-1)^c · r · (cos θ, sin θ) + noise · ε`` with ``θ = 2π · turns ·
    t``, ``r = θ / π = 2 · turns · t``, ``t ~ U(0, 1)``, ``ε ~ N(0, I_2)``; the arms are a
    point reflection of each other, 1 apart radially. Labels alternate 0, 1, ... (balanced).
    """
    seed, test_fraction = _seed(seed), _fraction(test_fraction)
    n = _int(n, "n", 4)
    noise, turns = _number(noise, "noise"), _number(turns, "turns", positive=True)
    labels, n_test = _balanced_labels(n, 2, test_fraction)
    k_data, k_split = _keys(seed)
    t, eps = _uniform(_sub(k_data, 0), (n,)), _normal(_sub(k_data, 1), (n, 2))
    theta = 2 * np.pi * turns * t
    sign = np.where(labels == 0, 1.0, -1.0)
    x = (sign * theta / np.pi)[:, None] * np.stack([np.cos(theta), np.sin(theta)], -1)
    return _classification("spirals", k_split, x + noise * eps, labels.astype(np.int32), 2,
                           n_test)


XOR_CENTRES = np.array([[1.0, 1.0], [-1.0, 1.0], [-1.0, -1.0], [1.0, -1.0]])


def xor(seed: int = 0, *, n: int = 400, noise: float = 0.1, test_fraction: float = 0.25
        ) -> Dataset:
    """XOR: four Gaussian blobs of std ``noise`` at ``XOR_CENTRES`` (±1, ±1), ``x`` ``[n, 2]``;
    label 1 where the centre's coordinates have opposite signs (``c₁ c₂ = -1``, the XOR of
    their sign bits), else 0. Blob ``i mod 4`` for sample ``i`` (balanced)."""
    seed, test_fraction = _seed(seed), _fraction(test_fraction)
    n = _int(n, "n", 4)
    noise = _number(noise, "noise")
    blob = np.arange(n) % 4
    centres = XOR_CENTRES[blob]
    labels = (centres[:, 0] * centres[:, 1] < 0).astype(np.int32)
    n_test = _check_split(np.bincount(labels, minlength=2), test_fraction)
    k_data, k_split = _keys(seed)
    x = centres + noise * _normal(k_data, (n, 2))
    return _classification("xor", k_split, x, labels, 2, n_test)


def mixture_means(k: int, dim: int, separation: float) -> np.ndarray:
    """``[k, dim]`` class means of ``gaussian_mixture``, centred at 0.

    ``dim >= k - 1``: vertices of a regular simplex, every pair ``separation`` apart (Helmert
    basis). Otherwise, ``dim >= 2``: a regular ``k``-gon in the first two coordinates,
    neighbours ``separation`` apart; ``dim == 1``: points ``separation`` apart on the line.
    """
    k, dim = _int(k, "k", 2), _int(dim, "dim", 1)
    separation = _number(separation, "separation", positive=True)
    means = np.zeros((k, dim))
    if dim >= k - 1:
        means[:, : k - 1] = separation / np.sqrt(2) * helmert(k).T
    elif dim >= 2:
        angle = 2 * np.pi * np.arange(k) / k
        radius = separation / (2 * np.sin(np.pi / k))
        means[:, 0], means[:, 1] = radius * np.cos(angle), radius * np.sin(angle)
    else:
        means[:, 0] = separation * (np.arange(k) - (k - 1) / 2)
    return means


def gaussian_mixture(seed: int = 0, *, n: int = 1000, k: int = 3, dim: int = 2,
                     separation: float = 3.0, std: float = 1.0, test_fraction: float = 0.25
                     ) -> Dataset:
    """``k`` isotropic Gaussian classes in ``dim`` dimensions, ``x`` ``[n, dim]``: sample ``i``
    is drawn from component ``i mod k`` (balanced), ``x = mixture_means(k, dim,
    separation)[label] + std · ε``, ``ε ~ N(0, I)``; the label is the component."""
    seed, test_fraction = _seed(seed), _fraction(test_fraction)
    k = _int(k, "k", 2)
    n = _int(n, "n", 2 * k)
    means = mixture_means(k, dim, separation)
    std = _number(std, "std", positive=True)
    labels, n_test = _balanced_labels(n, k, test_fraction)
    k_data, k_split = _keys(seed)
    x = means[labels] + std * _normal(k_data, (n, means.shape[1]))
    return _classification("gaussian_mixture", k_split, x, labels.astype(np.int32), k, n_test)


def teacher_student(teacher_fn: Callable[[jax.Array], jax.Array], seed: int = 0, *,
                    n: int = 1000, dim: int = 10, test_fraction: float = 0.25,
                    noise: float = 0.0) -> Dataset:
    """Regression on a teacher: ``x ~ N(0, I_dim)`` ``[n, dim]``, ``y = teacher_fn(x) + noise ·
    ε`` ``[n, k]`` (``ε ~ N(0, I)``); a random split.

    ``teacher_fn``: a pure jax function of a batch, ``[n, dim] -> [n, k]`` or ``[n]`` (made
    ``[n, 1]``), checked with ``jax.eval_shape`` before anything is drawn.
    """
    if not callable(teacher_fn):
        raise TypeError(f"teacher_fn must be a function [n, dim] -> [n, k], got {teacher_fn!r}")
    seed, test_fraction = _seed(seed), _fraction(test_fraction)
    n, dim = _int(n, "n", 2), _int(dim, "dim", 1)
    noise = _number(noise, "noise")
    n_test = _check_split(np.array([n]), test_fraction)[0]
    try:
        out = jax.eval_shape(teacher_fn, jax.ShapeDtypeStruct((n, dim), jnp.float32))
    except Exception as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(f"teacher_fn fails on a [{n}, {dim}] float32 batch: {first}") from err
    shape = getattr(out, "shape", None)
    if shape is None or shape[:1] != (n,) or len(shape) not in (1, 2):
        raise ValueError(f"teacher_fn must map [{n}, {dim}] to [{n}, k] or [{n}], got "
                         f"{shape if shape is not None else type(out).__name__}")
    k_data, k_split = _keys(seed)
    x = _draw(_sub(k_data, 0), "normal", (n, dim))
    y = np.asarray(teacher_fn(jnp.asarray(x)), dtype=np.float64).reshape(n, -1)
    if noise:
        y = y + noise * _normal(_sub(k_data, 1), y.shape)
    train, test = _split(k_split, np.zeros(n, dtype=np.int64), np.array([n_test]))
    return Dataset("teacher_student", x[train], y[train], x[test], y[test], None)


# ----------------------------------------------------------------------------- registry
_BUILDERS: dict[str, Callable[..., Dataset]] = {
    "digits": digits,
    "mnist1d": mnist1d,
    "spirals": spirals,
    "xor": xor,
    "gaussian_mixture": gaussian_mixture,
    "teacher_student": teacher_student,
}


def names() -> tuple[str, ...]:
    """Names that ``load`` knows."""
    return tuple(_BUILDERS)


def load(name: str, **kwargs: Any) -> Dataset:
    """The data set ``name`` built with ``kwargs`` (``teacher_student`` needs ``teacher_fn``)."""
    if name not in _BUILDERS:
        raise ValueError(f"unknown data set {name!r}; known: {', '.join(_BUILDERS)}")
    return _BUILDERS[name](**kwargs)
