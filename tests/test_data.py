"""saddle.data against independent computations: the MNIST-1D reference code (ported below),
scikit-learn's digits and numpy statistics, the spiral, XOR and mixture geometry in closed
form, and the teacher evaluated in numpy."""
# ruff: noqa: E702, NPY002, UP004, UP034  (the ported reference code is kept verbatim)

import collections
import dataclasses

import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats
from scipy.interpolate import interp1d
from scipy.ndimage import gaussian_filter
from sklearn.datasets import load_digits

import saddle.data as data
from saddle.precision import float64

# ---------------------------------------------------------------------------------------
# MNIST-1D reference, ported verbatim from greydanus/mnist1d (Apache-2.0) at commit
# 7878d96082abd200c546a07a4101fa90b30fdf7e: mnist1d/data.py (get_dataset_args without the
# url, get_templates, make_dataset), mnist1d/transform.py (pad, shear, translate,
# corr_noise_like, iid_noise_like, interpolate, transform), mnist1d/utils.py (set_seed,
# ObjectView). Its np.random calls are fed saddle.data's jax draws by `_Fed` below.


def set_seed(seed):
    np.random.seed(seed)


class ObjectView(object):
    def __init__(self, d): self.__dict__ = d


def get_dataset_args(as_dict=False):
    arg_dict = {'num_samples': 5000,
            'train_split': 0.8,
            'template_len': 12,
            'padding': [36,60],
            'scale_coeff': .4,
            'max_translation': 48,
            'corr_noise_scale': 0.25,
            'iid_noise_scale': 2e-2,
            'shear_scale': 0.75,
            'shuffle_seq': False,
            'final_seq_length': 40,
            'seed': 42}
    return arg_dict if as_dict else ObjectView(arg_dict)


def get_templates():
    d0 = np.asarray([5,6,6.5,6.75,7,7,7,7,6.75,6.5,6,5])
    d1 = np.asarray([5,3,3,3.4,3.8,4.2,4.6,5,5.4,5.8,5,5])
    d2 = np.asarray([5,6,6.5,6.5,6,5.25,4.75,4,3.5,3.5,4,5])
    d3 = np.asarray([5,6,6.5,6.5,6,5,5,6,6.5,6.5,6,5])
    d4 = np.asarray([5,4.4,3.8,3.2,2.6,2.6,5,5,5,5,5,5])
    d5 = np.asarray([5,3,3,3,3,5,6,6.5,6.5,6,4.5,5])
    d6 = np.asarray([5,4,3.5,3.25,3,3,3,3,3.25,3.5,4,5])
    d7 = np.asarray([5,7,7,6.6,6.2,5.8,5.4,5,4.6,4.2,5,5])
    d8 = np.asarray([5,4,3.5,3.5,4,5,5,4,3.5,3.5,4,5])
    d9 = np.asarray([5,4,3.5,3.5,4,5,5,5,5,4.7,4.3,5])

    x = np.stack([d0,d1,d2,d3,d4,d5,d6,d7,d8,d9])
    x -= x.mean(1,keepdims=True) # whiten
    x /= x.std(1,keepdims=True)
    x -= x[:,:1]  # signal starts and ends at 0

    templates = {'x': x/6., 't': np.linspace(-5, 5, len(d0))/6.,
                 'y': np.asarray([0,1,2,3,4,5,6,7,8,9])}
    return templates


def make_dataset(args=None, template=None, ):
    templates = get_templates() if template is None else template
    args = get_dataset_args() if args is None else args
    set_seed(args.seed) # reproducibility

    xs, ys = [], []
    samples_per_class = args.num_samples // len(templates['y'])
    for label_ix in range(len(templates['y'])):
        for example_ix in range(samples_per_class):  # noqa: B007
            x = templates['x'][label_ix]
            t = templates['t']
            y = templates['y'][label_ix]
            x, new_t = transform(x, t, args) # new_t transformation is same each time
            xs.append(x) ; ys.append(y)

    batch_shuffle = np.random.permutation(len(ys)) # shuffle batch dimension
    xs = np.stack(xs)[batch_shuffle]
    ys = np.stack(ys)[batch_shuffle]

    if args.shuffle_seq: # maybe shuffle the spatial dimension
        seq_shuffle = np.random.permutation(args.final_seq_length)
        xs = xs[...,seq_shuffle]

    new_t = new_t/xs.std()
    xs = (xs-xs.mean())/xs.std() # center the dataset & set standard deviation to 1

    # train / test split
    split_ix = int(len(ys)*args.train_split)
    dataset = {'x': xs[:split_ix], 'x_test': xs[split_ix:],
               'y': ys[:split_ix], 'y_test': ys[split_ix:],
               't':new_t, 'templates': templates}
    return dataset


def pad(x, padding: tuple):
    low, high = padding
    p = low + int(np.random.rand() * (high - low + 1))
    if len(x.shape) == 1:
        return np.concatenate([x, np.zeros((p))])
    else:
        padding = np.zeros((x.shape[0], p))
        return np.concatenate([x, padding], axis=-1)


def shear(x, scale=10):
    coeff = scale * (np.random.rand() - 0.5)
    return x - coeff * np.linspace(-0.5, 0.5, len(x))


def translate(x, max_translation):
    k = np.random.choice(max_translation)
    return np.concatenate([x[-k:], x[:-k]])


def corr_noise_like(x, scale):
    noise = scale * np.random.randn(*x.shape)
    return gaussian_filter(noise, 2)


def iid_noise_like(x, scale):
    noise = scale * np.random.randn(*x.shape)
    return noise


def interpolate(x, N):
    scale = np.linspace(0, 1, len(x))
    new_scale = np.linspace(0, 1, N)
    new_x = interp1d(scale, x, axis=0, kind="linear")(new_scale)
    return new_x


def transform(x, y, args, eps=1e-8):
    new_x = pad(x + eps, args.padding)  # pad
    new_x = interpolate(new_x, args.template_len + args.padding[-1])  # dilate
    new_y = interpolate(y, args.template_len + args.padding[-1])
    new_x *= 1 + args.scale_coeff * (np.random.rand() - 0.5)  # scale
    new_x = translate(new_x, args.max_translation)  # translate

    # add noise
    mask = new_x != 0
    new_x = mask * new_x + (1 - mask) * corr_noise_like(new_x, args.corr_noise_scale)
    new_x = new_x + iid_noise_like(new_x, args.iid_noise_scale)

    # shear and interpolate
    new_x = shear(new_x, args.shear_scale)
    new_x = interpolate(new_x, args.final_seq_length)  # subsample
    new_y = interpolate(new_y, args.final_seq_length)
    return new_x, new_y

# --------------------------------------------------------------------- end of the reference


class _Fed:
    """Stands in for np.random: hands out given draws in the order the reference asks."""

    def __init__(self, rand=(), choice=(), randn=(), permutation=()):
        self.queues = {"rand": list(rand), "choice": list(choice), "randn": list(randn),
                       "permutation": list(permutation)}

    def install(self, monkeypatch):
        monkeypatch.setattr(np.random, "seed", lambda seed: None)
        monkeypatch.setattr(np.random, "rand", lambda: self._next("rand"))
        monkeypatch.setattr(np.random, "choice", lambda a: self._next("choice", a))
        monkeypatch.setattr(np.random, "randn", lambda *shape: self._next("randn", shape))
        monkeypatch.setattr(np.random, "permutation", lambda n: self._next("permutation", n))
        return self

    def _next(self, kind, check=None):
        value = self.queues[kind].pop(0)
        if kind == "choice":
            assert 0 <= value < check
        elif kind == "randn":
            assert value.shape == check
        elif kind == "permutation":
            assert len(value) == check
        return value

    def exhausted(self):
        return all(not q for q in self.queues.values())


def _pad_u(p, low, high):
    """The uniform draw for which the reference's pad() picks p zeros."""
    return (p - low + 0.5) / (high - low + 1)


def _draws(seed, n, **overrides):
    args = data._mnist1d_args(overrides)
    k_data, k_split = data._keys(seed)
    return args, data._mnist1d_draws(k_data, n, args), data._permutation(k_split, n)


def _ref_args(args, n, test_fraction):
    a = get_dataset_args()
    a.__dict__.update(args, padding=list(args["padding"]), num_samples=n,
                      train_split=1 - test_fraction)
    return a


# ----------------------------------------------------------------------------- mnist1d
def test_mnist1d_templates_match_reference():
    np.testing.assert_array_equal(data._mnist1d_templates(), get_templates()["x"])


def test_mnist1d_each_transform_matches_reference(monkeypatch):
    n = 60
    args, d, _ = _draws(3, n)
    labels = np.arange(n) % 10
    low, high = args["padding"]
    length = args["template_len"] + high
    x0 = data._mnist1d_templates()[labels] + 1e-8

    fed = _Fed(rand=[_pad_u(p, low, high) for p in d["pad"]]).install(monkeypatch)
    ref = np.stack([interpolate(pad(x, (low, high)), length) for x in x0])
    assert fed.exhausted()
    got = data._pad_dilate(x0, d["pad"], length)
    np.testing.assert_array_equal(got, ref)  # same scipy interpolation: bit for bit
    assert ((got != 0).sum(1) >= 12).all() and (got == 0).any()  # the padding is in there

    x1 = got * (1 + args["scale_coeff"] * (d["u_scale"] - 0.5))[:, None]
    _Fed(choice=d["shift"]).install(monkeypatch)
    np.testing.assert_array_equal(data._translate(x1, d["shift"]),
                                  np.stack([translate(x, args["max_translation"]) for x in x1]))
    x2 = data._translate(x1, d["shift"])

    _Fed(randn=[z for pair in zip(d["z_corr"], d["z_iid"], strict=True) for z in pair]
         ).install(monkeypatch)
    ref = []
    for x in x2:  # the noise lines of transform()
        mask = x != 0
        x = mask * x + (1 - mask) * corr_noise_like(x, args["corr_noise_scale"])
        ref.append(x + iid_noise_like(x, args["iid_noise_scale"]))
    x3 = data._add_noise(x2, d["z_corr"], d["z_iid"], args)
    np.testing.assert_allclose(x3, np.stack(ref), rtol=0, atol=1e-15)

    _Fed(rand=d["u_shear"]).install(monkeypatch)
    x4 = data._shear(x3, d["u_shear"], args["shear_scale"])
    np.testing.assert_array_equal(x4, np.stack([shear(x, args["shear_scale"]) for x in x3]))
    np.testing.assert_array_equal(data._resample(x4, 40), np.stack([interpolate(x, 40)
                                                                     for x in x4]))


def _fed_make_dataset(monkeypatch, n, args, d, shuffle):
    low, high = args["padding"]
    rand = [u for p, us, ush in zip(d["pad"], d["u_scale"], d["u_shear"], strict=True)
            for u in (_pad_u(p, low, high), us, ush)]
    randn = [z for pair in zip(d["z_corr"], d["z_iid"], strict=True) for z in pair]
    fed = _Fed(rand=rand, choice=d["shift"], randn=randn,
               permutation=[shuffle, d["seq_perm"]]).install(monkeypatch)
    return fed


@pytest.mark.parametrize("overrides", [{}, {"shuffle_seq": True, "padding": (10, 20),
                                            "max_translation": 30, "final_seq_length": 25}])
def test_mnist1d_equals_reference_make_dataset_fed_the_same_draws(monkeypatch, overrides):
    n, seed, test_fraction = 100, 7, 0.2
    args, d, shuffle = _draws(seed, n, **overrides)
    fed = _fed_make_dataset(monkeypatch, n, args, d, shuffle)
    ref = make_dataset(_ref_args(args, n, test_fraction))
    assert fed.queues["permutation"] == ([] if args["shuffle_seq"] else [d["seq_perm"]])
    monkeypatch.undo()
    ds = data.mnist1d(seed, n=n, test_fraction=test_fraction, **overrides)
    for got, want in [(ds.x_train, ref["x"]), (ds.x_test, ref["x_test"])]:
        np.testing.assert_allclose(got, want, rtol=0, atol=2e-6)
    np.testing.assert_array_equal(ds.y_train, ref["y"])
    np.testing.assert_array_equal(ds.y_test, ref["y_test"])
    assert ds.x_train.shape == (80, args["final_seq_length"])


def test_mnist1d_draws_have_the_reference_distributions():
    _, d, _ = _draws(0, 5000)
    for name, values, lo, hi in [("pad", d["pad"], 36, 60), ("shift", d["shift"], 0, 47)]:
        counts = np.bincount(values - lo, minlength=hi - lo + 1)
        assert counts.shape == (hi - lo + 1,) and counts.min() > 0, name  # exactly {lo..hi}
        assert scipy.stats.chisquare(counts).pvalue > 1e-3, name
    for name in ("u_scale", "u_shear"):
        assert scipy.stats.kstest(d[name], "uniform").pvalue > 1e-3, name
    for name in ("z_corr", "z_iid"):
        assert scipy.stats.kstest(d[name][:, 5], "norm").pvalue > 1e-3, name
        assert abs(np.corrcoef(d[name][:, 0], d[name][:, 1])[0, 1]) < 0.06, name
    assert sorted(d["seq_perm"]) == list(range(40))


def test_mnist1d_shapes_balance_and_standardisation():
    ds = data.mnist1d(1, n=1000)
    assert ds.x_train.shape == (800, 40) and ds.x_test.shape == (200, 40)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int32
    y = np.concatenate([ds.y_train, ds.y_test])
    np.testing.assert_array_equal(np.bincount(y), np.full(10, 100))
    x = np.concatenate([ds.x_train, ds.x_test]).astype(np.float64)
    assert abs(x.mean()) < 1e-6 and abs(x.std() - 1) < 1e-6
    assert np.isfinite(x).all() and 2 < np.abs(x).max() < 20
    assert len(np.unique(ds.y_test)) == 10


# ----------------------------------------------------------------------------- digits
def _rows(x, y):
    return collections.Counter(zip(map(bytes, np.asarray(x, np.float32)), y.tolist(),
                                   strict=True))


def test_digits_is_sklearn_digits_split_by_class():
    raw = load_digits()
    ds = data.digits(2, standardize=False)
    assert ds.x_train.shape == (1797 - ds.x_test.shape[0], 64) and ds.n_classes == 10
    assert ds.x_train.dtype == np.float32 and ds.y_test.dtype == np.int32
    assert _rows(ds.x_train, ds.y_train) + _rows(ds.x_test, ds.y_test) == _rows(
        raw.data / 16, raw.target)
    n_c = np.bincount(raw.target)
    test_c = np.bincount(ds.y_test, minlength=10)
    assert (np.abs(test_c - 0.25 * n_c) <= 0.5).all()
    assert 0 <= ds.x_train.min() and ds.x_train.max() == 1
    assert not (ds.y_train[:50] == np.sort(ds.y_train[:50])).all()  # not ordered by class


def test_digits_standardised_with_train_statistics_only():
    raw, std = data.digits(4, standardize=False), data.digits(4)
    xr, xt = raw.x_train.astype(np.float64), raw.x_test.astype(np.float64)
    mean, sd = xr.mean(0), xr.std(0)
    varying = sd > 0
    scale = np.where(varying, sd, 1.0)
    np.testing.assert_allclose(std.x_train, (xr - mean) / scale, atol=2e-5)
    np.testing.assert_allclose(std.x_test, (xt - mean) / scale, atol=2e-5)
    np.testing.assert_array_equal(std.y_test, raw.y_test)
    x64 = std.x_train.astype(np.float64)
    assert np.abs(x64.mean(0)).max() < 1e-5
    np.testing.assert_allclose(x64.std(0)[varying], 1, atol=1e-5)
    assert (std.x_train[:, ~varying] == 0).all() and (~varying).sum() >= 1
    assert np.abs(std.x_test.mean(0)[varying]).max() > 1e-2  # test statistics not used


# ----------------------------------------------------------------------------- toy sets
def _spiral_point(t, c, turns):
    theta = 2 * np.pi * turns * t
    r = (-1.0) ** c * theta / np.pi
    return r[..., None] * np.stack([np.cos(theta), np.sin(theta)], -1)


def test_spirals_lie_on_their_arms():
    turns = 1.5
    ds = data.spirals(0, n=400, noise=0.0, turns=turns)
    x, y = np.concatenate([ds.x_train, ds.x_test]), np.concatenate([ds.y_train, ds.y_test])
    t = np.linalg.norm(x, axis=1) / (2 * turns)  # r = 2 · turns · t
    assert (t <= 1).all() and t.max() > 0.95
    np.testing.assert_allclose(x, _spiral_point(t, y, turns), atol=1e-5)
    assert np.bincount(y).tolist() == [200, 200]

    noise = 0.2
    ds = data.spirals(1, n=400, noise=noise, turns=turns)
    x, y = np.concatenate([ds.x_train, ds.x_test]), np.concatenate([ds.y_train, ds.y_test])
    grid = np.linspace(0, 1, 4001)
    d2 = [((x[:, None] - _spiral_point(grid, c, turns)[None]) ** 2).sum(-1).min(1)
          for c in (0, 1)]
    own, other = np.where(y == 0, d2[0], d2[1]), np.where(y == 0, d2[1], d2[0])
    assert own.mean() <= 1.2 * 2 * noise**2  # distance to the arm <= |noise|, E|noise|² = 2σ²
    assert other.mean() > 5 * own.mean()


def test_xor_labels_are_the_sign_product():
    ds = data.xor(0, n=400, noise=0.1)
    x, y = np.concatenate([ds.x_train, ds.x_test]), np.concatenate([ds.y_train, ds.y_test])
    np.testing.assert_array_equal(y, (x[:, 0] * x[:, 1] < 0).astype(int))
    quadrant = (x[:, 0] > 0) * 2 + (x[:, 1] > 0)
    assert np.bincount(quadrant).tolist() == [100] * 4
    centre = np.sign(x)
    np.testing.assert_allclose((x - centre).std(0), 0.1, rtol=0.15)
    ds0 = data.xor(0, n=40, noise=0.0)
    assert set(map(tuple, ds0.x_train.tolist())) == {(1, 1), (1, -1), (-1, 1), (-1, -1)}


@pytest.mark.parametrize(("k", "dim", "pairs"), [(3, 2, "all"), (4, 3, "all"), (4, 7, "all"),
                                                 (2, 1, "all"), (5, 2, "ring"), (3, 1, "line")])
def test_mixture_means_geometry(k, dim, pairs):
    m = data.mixture_means(k, dim, 2.5)
    assert m.shape == (k, dim)
    np.testing.assert_allclose(m.mean(0), 0, atol=1e-12)
    dist = np.linalg.norm(m[:, None] - m[None], axis=-1)
    if pairs == "all":
        np.testing.assert_allclose(dist[~np.eye(k, dtype=bool)], 2.5)
    elif pairs == "ring":
        np.testing.assert_allclose([dist[i, (i + 1) % k] for i in range(k)], 2.5)
        np.testing.assert_allclose(np.linalg.norm(m, axis=1), 2.5 / (2 * np.sin(np.pi / k)))
    else:
        np.testing.assert_allclose(np.diff(m[:, 0]), 2.5)


def test_gaussian_mixture_labels_are_components():
    k, dim, std = 4, 3, 0.5
    ds = data.gaussian_mixture(0, n=2000, k=k, dim=dim, separation=3.0, std=std)
    x, y = np.concatenate([ds.x_train, ds.x_test]), np.concatenate([ds.y_train, ds.y_test])
    assert ds.n_classes == k and np.bincount(y).tolist() == [500] * k
    means = data.mixture_means(k, dim, 3.0)
    for c in range(k):
        xc = x[y == c]
        assert np.abs(xc.mean(0) - means[c]).max() < 5 * std / np.sqrt(len(xc))
        np.testing.assert_allclose(xc.std(0), std, rtol=0.1)
    far = data.gaussian_mixture(1, n=300, k=5, dim=2, separation=40.0, std=1.0)
    nearest = np.linalg.norm(far.x_train[:, None] - data.mixture_means(5, 2, 40.0)[None],
                             axis=-1).argmin(1)
    np.testing.assert_array_equal(nearest, far.y_train)


def test_teacher_student_targets_are_the_teacher():
    w = np.linspace(-1, 1, 12).reshape(4, 3)
    ds = data.teacher_student(lambda x: jnp.tanh(x @ w), 0, n=2000, dim=4)
    assert ds.n_classes is None and ds.y_train.shape == (1500, 3)
    assert ds.x_train.dtype == ds.y_train.dtype == np.float32
    np.testing.assert_allclose(ds.y_train, np.tanh(ds.x_train.astype(np.float64) @ w),
                               atol=1e-6)
    x = np.concatenate([ds.x_train, ds.x_test]).astype(np.float64)
    assert np.abs(x.mean(0)).max() < 5 / np.sqrt(2000)
    assert np.abs(np.cov(x.T) - np.eye(4)).max() < 5 * np.sqrt(2 / 2000)

    noisy = data.teacher_student(lambda x: x[:, 0] * x[:, 1], 0, n=2000, dim=4, noise=0.3)
    assert noisy.y_test.shape == (500, 1)
    resid = noisy.y_train[:, 0] - noisy.x_train[:, 0] * noisy.x_train[:, 1]
    assert abs(resid.std() - 0.3) < 0.03 and abs(resid.mean()) < 0.05


# ----------------------------------------------------------------------------- common
_SMALL = {"digits": {}, "mnist1d": {"n": 200}, "spirals": {"n": 100}, "xor": {"n": 40},
          "gaussian_mixture": {"n": 90}, "teacher_student": {"n": 50,
                                                             "teacher_fn": lambda x: x ** 2}}


def _arrays(ds):
    return [ds.x_train, ds.y_train, ds.x_test, ds.y_test]


@pytest.mark.parametrize("name", data.names())
def test_seed_determines_the_arrays(name):
    kw = _SMALL[name]
    a, b = data.load(name, seed=5, **kw), data.load(name, seed=6, **kw)
    for u, v in zip(_arrays(a), _arrays(b), strict=True):
        assert u.shape == v.shape
    assert not np.array_equal(a.x_train, b.x_train)
    c = data.load(name, seed=5, **kw)
    for u, v in zip(_arrays(a), _arrays(c), strict=True):
        np.testing.assert_array_equal(u, v)


@pytest.mark.parametrize("name", data.names())
def test_arrays_do_not_depend_on_float64(name):
    kw = _SMALL[name]
    a = data.load(name, seed=2, **kw)
    with float64():
        b = data.load(name, seed=2, **kw)
    for u, v in zip(_arrays(a), _arrays(b), strict=True):
        np.testing.assert_array_equal(u, v)
    assert a.train[0] is a.x_train and a.test[1] is a.y_test and name in repr(a)


def test_dataset_is_frozen_and_checked():
    ds = data.xor(n=20)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ds.name = "other"
    with pytest.raises(ValueError, match="read-only"):
        ds.x_train[0, 0] = 1.0
    with pytest.raises(ValueError, match="same number of rows"):
        data.Dataset("d", np.zeros((3, 2)), np.zeros(2), np.zeros((1, 2)), np.zeros(1), 2)
    with pytest.raises(ValueError, match=r"labels in 0\.\.1"):
        data.Dataset("d", np.zeros((2, 2)), np.array([0, 2]), np.zeros((1, 2)), np.zeros(1), 2)
    with pytest.raises(ValueError, match=r"\[n, k\] regression"):
        data.Dataset("d", np.zeros((2, 2)), np.zeros(2), np.zeros((1, 2)), np.zeros(1), None)


def _bad_teacher(x):
    return x.sum()


@pytest.mark.parametrize(("call", "kind", "message"), [
    (lambda: data.digits(test_fraction=1.5), ValueError, r"test_fraction must be in \(0, 1\)"),
    (lambda: data.digits(standardize=1), TypeError, "standardize must be a bool"),
    (lambda: data.digits(seed="a"), TypeError, "seed must be an int"),
    (lambda: data.digits(test_fraction=0.001), ValueError, "leaves class 0"),
    (lambda: data.mnist1d(n=4005), ValueError, "n must be a multiple of 10"),
    (lambda: data.mnist1d(n=10), ValueError, "n must be >= 20"),
    (lambda: data.mnist1d(foo=1), ValueError, "unknown mnist1d argument 'foo'; known: "),
    (lambda: data.mnist1d(num_samples=10), ValueError, "it is 'n' here"),
    (lambda: data.mnist1d(padding=(5, 2)), ValueError, "padding must have low <= high"),
    (lambda: data.mnist1d(padding=3), ValueError, "padding must be a pair"),
    (lambda: data.mnist1d(max_translation=100), ValueError,
     r"max_translation must be <= template_len \+ padding\[1\] = 72, got 100"),
    (lambda: data.mnist1d(shear_scale=-1), ValueError, "shear_scale must be a finite number"),
    (lambda: data.spirals(n=3), ValueError, "n must be >= 4, got 3"),
    (lambda: data.spirals(turns=0), ValueError, "turns must be a finite number > 0"),
    (lambda: data.xor(noise=-1), ValueError, "noise must be a finite number >= 0"),
    (lambda: data.xor(n=8, test_fraction=0.01), ValueError, "leaves class 0 .4 samples."),
    (lambda: data.gaussian_mixture(k=1), ValueError, "k must be >= 2"),
    (lambda: data.gaussian_mixture(separation=0), ValueError, "separation must be a finite"),
    (lambda: data.gaussian_mixture(std=float("nan")), ValueError, "std must be a finite"),
    (lambda: data.teacher_student(5), TypeError, "teacher_fn must be a function"),
    (lambda: data.teacher_student(_bad_teacher), ValueError, r"teacher_fn must map \[1000, 10\]"),
    (lambda: data.teacher_student(lambda x: x @ np.ones(3)), ValueError, "teacher_fn fails"),
    (lambda: data.teacher_student(jnp.sin, n=2, test_fraction=0.1), ValueError, "n=2"),
    (lambda: data.load("mnist"), ValueError,
     "unknown data set 'mnist'; known: digits, mnist1d, spirals, xor, gaussian_mixture, "
     "teacher_student"),
])
def test_bad_input_one_line_error_before_any_draw(monkeypatch, call, kind, message):
    def no_draw(*args, **kwargs):
        raise AssertionError("drew random numbers before checking the arguments")

    monkeypatch.setattr(data, "_draw", no_draw)
    with pytest.raises(kind, match=message) as err:
        call()
    assert "\n" not in str(err.value)
