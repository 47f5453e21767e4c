"""The experiment runner: flags, validation, atomic outputs, reuse and resume."""

import dataclasses
import json

import numpy as np
import pytest

from saddle import experiment


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    n_starts: int = 8
    lr: float = 0.1
    names: tuple[str, ...] = ("a", "b")
    verbose: bool = False
    label: str = "x"

    def __post_init__(self):
        if self.n_starts < 1:
            raise ValueError(f"n_starts must be >= 1, got {self.n_starts}")


class Counter:
    def __init__(self, fail_after=None):
        self.calls, self.stage_calls, self.fail_after = 0, 0, fail_after

    def run(self, cfg, ctx):
        self.calls += 1
        out = {}
        for i, name in enumerate(cfg.names):
            def compute(i=i):
                self.stage_calls += 1
                if self.fail_after is not None and i >= self.fail_after:
                    raise KeyboardInterrupt  # simulated interruption
                return {"v": np.arange(cfg.n_starts) * cfg.lr + i}
            out[name] = ctx.stage(name, compute)["v"]
        return out


def summarize(cfg, data):
    return {"total": float(sum(v.sum() for v in data.values())), "nan": float("nan")}


def plot(cfg, data):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot(data["a"])
    return {"fig": fig}


def test_flags_mirror_the_dataclass(capsys):
    parser = experiment.build_parser(Config, "prog", None)
    ns = parser.parse_args(["--n-starts", "3", "--names", "p", "q", "--verbose", "--lr", "1e-3"])
    cfg = experiment.config_from_args(Config, ns)
    assert cfg == Config(n_starts=3, names=("p", "q"), verbose=True, lr=1e-3)
    with pytest.raises(SystemExit):
        parser.parse_args(["--help"])
    text = capsys.readouterr().out
    assert "--n-starts INT" in text and "--names STR [STR ...]" in text
    assert "(default: 8)" in text and "--no-verbose" in text


def test_bad_value_is_one_line_naming_the_field(tmp_path, capsys):
    c = Counter()
    with pytest.raises(SystemExit) as e:
        experiment.main(Config, c.run, plot, summarize, argv=["--n-starts", "0",
                                                              "--out", str(tmp_path)])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "n_starts must be >= 1, got 0" in err
    assert "Traceback" not in err and c.calls == 0


def test_outputs_reuse_and_force(tmp_path):
    c = Counter()
    res = experiment.run_experiment(Config(), c.run, plot, summarize, out=tmp_path,
                                    show_progress=False)
    assert not res.reused and c.calls == 1
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["config.json", "data.npz", "fig.pdf", "fig.png", "summary.json"]
    assert json.loads((tmp_path / "summary.json").read_text())["nan"] is None  # plain JSON
    res2 = experiment.run_experiment(Config(), c.run, plot, summarize, out=tmp_path)
    assert res2.reused and c.calls == 1
    np.testing.assert_array_equal(res2.data["b"], res.data["b"])
    experiment.run_experiment(Config(lr=0.2), c.run, plot, summarize, out=tmp_path)
    assert c.calls == 2  # another config is not reused
    experiment.run_experiment(Config(lr=0.2), c.run, plot, summarize, out=tmp_path, force=True)
    assert c.calls == 3
    cfg, summary, data = experiment.load(tmp_path)
    assert cfg["lr"] == 0.2 and summary["total"] == pytest.approx(data["a"].sum() + data["b"].sum())


def test_interrupted_run_resumes_from_finished_stages(tmp_path):
    c = Counter(fail_after=1)
    with pytest.raises(KeyboardInterrupt):
        experiment.run_experiment(Config(), c.run, None, summarize, out=tmp_path)
    assert not (tmp_path / "data.npz").exists()  # nothing half-written
    assert not list(tmp_path.rglob("*.tmp"))
    c.fail_after = None
    c.stage_calls = 0
    experiment.run_experiment(Config(), c.run, None, summarize, out=tmp_path)
    assert c.stage_calls == 1  # stage "a" came from disk, only "b" ran
    assert not (tmp_path / ".stages").exists() or not list((tmp_path / ".stages").rglob("*.npz"))


def test_atomic_write_leaves_old_file_on_failure(tmp_path):
    path = tmp_path / "summary.json"
    experiment.write_json(path, {"a": 1})
    with pytest.raises(TypeError):
        experiment.write_json(path, {"a": object()})
    assert json.loads(path.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class OptConfig:
    flags: tuple[bool, ...] = (True,)
    n: int | None = None


def test_bad_bool_and_none_for_optional(capsys):
    parser = experiment.build_parser(OptConfig, "prog", None)
    ns = parser.parse_args(["--flags", "yes", "off", "--n", "none"])
    assert experiment.config_from_args(OptConfig, ns) == OptConfig(flags=(True, False), n=None)
    assert experiment.config_from_args(OptConfig, parser.parse_args(["--n", "3"])).n == 3
    with pytest.raises(SystemExit):
        parser.parse_args(["--flags", "maybe"])
    assert "expected true/false, got 'maybe'" in capsys.readouterr().err


def test_crash_between_data_and_config_writes_is_not_reused(tmp_path, monkeypatch):
    c = Counter()
    experiment.run_experiment(Config(lr=0.1), c.run, None, summarize, out=tmp_path)
    real = experiment.write_json

    def crash_on_config(path, obj):
        if path.name == "config.json":
            raise KeyboardInterrupt
        real(path, obj)

    monkeypatch.setattr(experiment, "write_json", crash_on_config)
    with pytest.raises(KeyboardInterrupt):
        experiment.run_experiment(Config(lr=0.2), c.run, None, summarize, out=tmp_path)
    monkeypatch.setattr(experiment, "write_json", real)
    res = experiment.run_experiment(Config(lr=0.1), c.run, None, summarize, out=tmp_path)
    assert not res.reused and res.data["a"][1] == pytest.approx(0.1)
