"""The experiment runner: flags, validation, atomic outputs, reuse and resume, the folder
lock, the code-version key."""

import dataclasses
import importlib
import json
import os
import pkgutil
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import experiments
from saddle import experiment

field = experiment.field
REPO = Path(__file__).resolve().parents[1]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    n_starts: int = field(8, "Number of starts.")
    lr: float = field(0.1, "Learning rate, 5% of the default.")
    names: tuple[str, ...] = field(("a", "b"), "Stage names.", choices=("a", "b", "p", "q"))
    verbose: bool = field(False, "Print more.")
    label: str = field("x", "A label.")

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
    assert "Number of starts." in text and "Learning rate, 5% of the default." in text
    assert "Stage names. Valid: a, b, p, q." in " ".join(text.split())


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
    assert names == [".lock", "config.json", "data.npz", "fig.pdf", "fig.png", "summary.json"]
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


def test_config_json_records_the_runtime_of_run(tmp_path):
    def slow_run(cfg, ctx):
        time.sleep(0.2)
        return {"a": np.zeros(2)}

    experiment.run_experiment(Config(), slow_run, None, summarize, out=tmp_path)
    runtime = json.loads((tmp_path / "config.json").read_text())["runtime_s"]
    assert 0.2 <= runtime < 30
    experiment.run_experiment(Config(), slow_run, None, summarize, out=tmp_path)  # reused
    assert json.loads((tmp_path / "config.json").read_text())["runtime_s"] == runtime


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
    flags: tuple[bool, ...] = field((True,), "Flags.")
    n: int | None = field(None, "A count or none.")


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


# ----------------------------------------------------------------------------- command line
def _main(argv, tmp_path, capsys):
    """Run ``main`` on ``argv``; (exit code or None, stderr, number of run calls)."""
    c = Counter()
    try:
        experiment.main(Config, c.run, None, summarize, argv=argv)
        code = None
    except SystemExit as e:
        code = e.code
    return code, capsys.readouterr().err, c.calls


@pytest.mark.parametrize(("argv", "message"), [
    (["--lr", "nan"], "expected a finite number, got 'nan'"),
    (["--lr=-inf"], "expected a finite number, got '-inf'"),
    (["--lr", "fast"], "expected a number, got 'fast'"),
    (["--label", ""], "expected a non-empty value, got ''"),
    (["--names", "a", " "], "expected a non-empty value, got ' '"),
    (["--names"], "expected at least one argument"),
    (["--names", "d"], "invalid choice: 'd'"),
    (["--n-starts", "3.0"], "invalid int value: '3.0'"),
    (["--n-starts", "1e3"], "invalid int value: '1e3'"),
    (["--n-starts"], "expected one argument"),
    (["--n-st", "3"], "unrecognized arguments: --n-st"),  # no abbreviations
    (["--forc"], "unrecognized arguments: --forc"),
    (["--verbose=yes"], "ignored explicit argument 'yes'"),
])
def test_bad_command_line_values_exit_with_one_line(argv, message, tmp_path, capsys):
    code, err, calls = _main([*argv, "--out", str(tmp_path)], tmp_path, capsys)
    assert code == 2 and calls == 0
    assert err.count("\n") == 1 and message in err and "Traceback" not in err, err


def test_a_field_without_help_fails_loudly():
    @dataclasses.dataclass(frozen=True, kw_only=True)
    class Bare:
        n: int = 3

    with pytest.raises(TypeError, match=r"Bare\.n has no help text"):
        experiment.build_parser(Bare, "prog", None)
    with pytest.raises(ValueError, match="help must be a sentence"):
        field(3, "  ")


def test_choices_may_be_computed_and_optional_fields_keep_none():
    @dataclasses.dataclass(frozen=True, kw_only=True)
    class C:
        mode: str | None = field(None, "A mode.", choices=lambda: ("fast", "slow"))

    parser = experiment.build_parser(C, "prog", None)
    assert parser.parse_args(["--mode", "none"]).mode is None
    assert parser.parse_args(["--mode", "slow"]).mode == "slow"
    assert "Valid: fast, slow." in parser.format_help()


@dataclasses.dataclass(frozen=True, kw_only=True)
class Checked:
    names: tuple[str, ...] = field(("a",), "Names.", choices=("a", "b"))
    mode: str | None = field(None, "A mode.", choices=lambda: ("fast", "slow"))
    n: int = field(3, "A count.", at_least=1, at_most=12)
    eps: float = field(0.1, "A distance.", above=0, below=1)
    dims: tuple[int, ...] = field((2, 3), "Dimensions.", at_least=1)

    def __post_init__(self):
        experiment.check_fields(self)


@pytest.mark.parametrize("kwargs, message", [
    ({"names": ("a", "c")}, "unknown value 'c' in names; valid: a, b"),
    ({"names": ("b", "b")}, "names names a value twice: ('b', 'b')"),
    ({"mode": "slower"}, "unknown value 'slower' in mode; valid: fast, slow"),
    ({"n": 0}, "n must be >= 1, got 0"),
    ({"n": 13}, "n must be <= 12, got 13"),
    ({"eps": 0.0}, "eps must be a finite number > 0, got 0.0"),
    ({"eps": 1.0}, "eps must be < 1, got 1.0"),
    ({"eps": float("nan")}, "eps must be a finite number, got nan"),
    ({"eps": "0.5"}, "eps must be a number, got '0.5'"),
    ({"n": True}, "n must be a number, got True"),
    ({"dims": (2, 0)}, "dims must be >= 1, got 0"),
])
def test_check_fields_names_the_field_in_one_line(kwargs, message):
    with pytest.raises(ValueError) as info:
        Checked(**kwargs)
    assert str(info.value) == message


def test_check_fields_accepts_the_edges_and_help_lists_the_range():
    Checked(n=1, mode="slow", names=("b", "a"), dims=())
    Checked(n=12, eps=0.999)
    text = " ".join(experiment.build_parser(Checked, "prog", None).format_help().split())
    assert "A count. Range: >= 1, <= 12." in text and "Range: > 0, < 1." in text


def test_verdict_words():
    assert experiment.verdict([True, True], "x") == {"verdict": "confirmed", "because": "x"}
    assert experiment.verdict([False], "x")["verdict"] == "refuted"
    assert experiment.verdict([True, False], "x")["verdict"] == "depends"
    assert experiment.verdict([], "x")["verdict"] == "inconclusive"


# ----------------------------------------------------------------------------- --out
@pytest.mark.parametrize("bad", ["", " ", "a_file", "a_file/sub"])
def test_bad_out_fails_at_start_with_one_line(bad, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a_file").write_text("not a folder")
    code, err, calls = _main(["--out", bad], tmp_path, capsys)
    assert code == 2 and calls == 0, err
    assert err.count("\n") == 1 and "output folder" in err and repr(bad) in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]  # nothing written


def test_unwritable_out_is_refused(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root writes anywhere")
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o500)
    with pytest.raises(experiment.OutputError, match="not writable"):
        experiment.run_experiment(Config(), Counter().run, None, summarize, out=folder)


# ----------------------------------------------------------------------------- files
def test_files_get_the_mode_open_would_give(tmp_path):
    for umask in (0o002, 0o027):  # neither gives mkstemp's 0600
        old = os.umask(umask)
        try:
            out = tmp_path / f"u{umask:o}"
            experiment.run_experiment(Config(), Counter().run, plot, summarize, out=out)
        finally:
            os.umask(old)
        files = [p for p in out.iterdir() if p.is_file()]
        assert len(files) == 6  # .lock, config, data, summary, two figures
        for p in files:
            assert stat.S_IMODE(p.stat().st_mode) == 0o666 & ~umask, (p.name, oct(umask))


def test_stale_temp_files_are_removed_at_start_and_only_those(tmp_path):
    c = Counter(fail_after=1)
    with pytest.raises(KeyboardInterrupt):
        experiment.run_experiment(Config(), c.run, None, summarize, out=tmp_path)
    (stage_dir,) = (tmp_path / ".stages").iterdir()
    # What a writer killed mid-write leaves: its temp files (this module's names).
    stale = [tmp_path / ".data.npz.k3j_9xq2.tmp", tmp_path / ".summary.json.0badcafe.tmp",
             stage_dir / ".b.npz.1234abcd.tmp"]
    keep = [tmp_path / "notes.tmp", tmp_path / ".editor.tmp", tmp_path / ".x.TOOLONG12.tmp"]
    for p in stale + keep:
        p.write_bytes(b"partial")
    c.fail_after = None
    experiment.run_experiment(Config(), c.run, None, summarize, out=tmp_path)
    assert not any(p.exists() for p in stale)
    assert all(p.exists() for p in keep)


def test_a_crash_inside_a_write_removes_its_temp_file(tmp_path, monkeypatch):
    def fail(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(OSError, match="disk full"):
        experiment.write_npz(tmp_path / "data.npz", {"a": np.zeros(3)})
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- --force
def test_interrupted_forced_run_resumes_with_or_without_force(tmp_path):
    c = Counter()
    experiment.run_experiment(Config(), c.run, None, summarize, out=tmp_path)
    for again_forced in (True, False):
        c.fail_after, c.stage_calls = 1, 0
        with pytest.raises(KeyboardInterrupt):
            experiment.run_experiment(Config(), c.run, None, summarize, out=tmp_path, force=True)
        assert not (tmp_path / "config.json").exists()  # the finished result is discarded
        c.fail_after, c.stage_calls = None, 0
        res = experiment.run_experiment(Config(), c.run, None, summarize, out=tmp_path,
                                        force=again_forced)
        assert not res.reused and c.stage_calls == 1  # stage "a" of the forced run is kept
        np.testing.assert_allclose(res.data["b"], np.arange(8) * 0.1 + 1)


def test_force_recomputes_stages_of_earlier_runs(tmp_path):
    c = Counter(fail_after=1)
    with pytest.raises(KeyboardInterrupt):
        experiment.run_experiment(Config(), c.run, None, summarize, out=tmp_path)
    c.fail_after, c.stage_calls = None, 0
    experiment.run_experiment(Config(), c.run, None, summarize, out=tmp_path, force=True)
    assert c.stage_calls == 2  # stage "a" came from a run before --force: recomputed
    c.stage_calls = 0
    res = experiment.run_experiment(Config(), c.run, None, summarize, out=tmp_path, force=True)
    assert c.stage_calls == 2 and not res.reused  # a finished forced run leaves nothing
    assert not (tmp_path / ".stages").exists()


# ----------------------------------------------------------------------------- code version
def test_library_change_invalidates_results_and_stages(tmp_path, monkeypatch):
    c = Counter()
    experiment.run_experiment(Config(), c.run, None, summarize, out=tmp_path)
    c.fail_after = 1
    with pytest.raises(KeyboardInterrupt):
        experiment.run_experiment(Config(lr=0.2), c.run, None, summarize, out=tmp_path)
    monkeypatch.setattr(experiment, "_tree_digest", lambda root: "another saddle")
    c.fail_after, c.stage_calls = None, 0
    res = experiment.run_experiment(Config(lr=0.2), c.run, None, summarize, out=tmp_path)
    assert c.stage_calls == 2  # the stage of the old code is not resumed
    res = experiment.run_experiment(Config(), c.run, None, summarize, out=tmp_path)
    assert not res.reused and c.calls == 4
    recorded = json.loads((tmp_path / "config.json").read_text())["code_version"]
    assert recorded == experiment.code_version(__file__)


def test_tree_digest_covers_py_and_json_only(tmp_path):
    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    files = {"pkg/a.py": "x = 1", "pkg/sub/data.json": "{}", "pkg/sub/b.pyc": "junk"}
    for name, text in files.items():
        (tmp_path / name).write_text(text)

    def digest():
        experiment._tree_digest.cache_clear()
        return experiment._tree_digest(tmp_path / "pkg")

    base = digest()
    (tmp_path / "pkg/sub/b.pyc").write_text("other junk")
    assert digest() == base
    (tmp_path / "pkg/sub/data.json").write_text('{"a": 1}')
    assert digest() != base
    (tmp_path / "pkg/sub/data.json").write_text("{}")
    assert digest() == base
    (tmp_path / "pkg/a.py").rename(tmp_path / "pkg/sub/a.py")  # same text, another path
    assert digest() != base


# ----------------------------------------------------------------------------- processes
TINY = textwrap.dedent('''
    """A tiny experiment for the runner's tests; TINY_WAIT makes run wait for a file."""
    import dataclasses
    import os
    import pathlib
    import time

    import numpy as np

    from saddle import experiment

    VALUE = 1.0


    @dataclasses.dataclass(frozen=True, kw_only=True)
    class Config:
        tag: str = experiment.field("a", "A label stored in the data.")


    def run(cfg, ctx):
        if "TINY_WAIT" in os.environ:  # say we hold the folder, then wait for the go file
            pathlib.Path(os.environ["TINY_STARTED"]).touch()
            deadline = time.monotonic() + 300
            while not os.path.exists(os.environ["TINY_WAIT"]):
                if time.monotonic() > deadline:
                    raise TimeoutError("the test never created " + os.environ["TINY_WAIT"])
                time.sleep(0.02)
        return {"value": np.array([VALUE]), "tag": np.array([cfg.tag])}


    def summarize(cfg, data):
        return {"value": float(data["value"][0]), "tag": str(data["tag"][0])}


    if __name__ == "__main__":
        if "TINY_AFTER" in os.environ:  # imported already; start only once that file exists
            while not os.path.exists(os.environ["TINY_AFTER"]):
                time.sleep(0.02)
        experiment.main(Config, run, None, summarize)
''')


def _tiny(tmp_path, **env):
    """Write the tiny experiment module; a function running it as a real process."""
    (tmp_path / "tiny_exp.py").write_text(TINY)
    environ = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{tmp_path}", **env}

    def command(*args):
        return [sys.executable, "-m", "tiny_exp", "--no-progress", *args]

    return command, environ


def test_a_second_run_on_a_locked_folder_is_refused(tmp_path):
    out, go, started = tmp_path / "out", tmp_path / "go", tmp_path / "started"
    command, env = _tiny(tmp_path)
    first = subprocess.Popen(command("--tag", "a", "--out", str(out)), cwd=tmp_path,
                             env={**env, "TINY_WAIT": str(go), "TINY_STARTED": str(started)},
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # the second imports meanwhile and runs once the first holds the lock (inside run)
    second = subprocess.Popen(command("--tag", "b", "--out", str(out)), cwd=tmp_path,
                              env={**env, "TINY_AFTER": str(started)},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        while not started.exists():
            assert first.poll() is None, first.communicate()
            time.sleep(0.02)
        _, second_err = second.communicate(timeout=300)
    finally:
        go.touch()
        if second.poll() is None:
            second.kill()
            second.wait()
    _, stderr = first.communicate(timeout=300)
    assert first.returncode == 0, stderr
    assert second.returncode == 2 and second_err.count("\n") == 1, second_err
    assert repr(str(out)) in second_err and f"pid {first.pid}" in second_err
    _, summary, data = experiment.load(out)
    assert summary["tag"] == "a" and data["tag"].tolist() == ["a"]  # not a mixed folder
    with experiment._locked(out):  # released when the first run ended
        with pytest.raises(experiment.OutputError, match=f"pid {os.getpid()}"):
            experiment.run_experiment(Config(), Counter().run, None, summarize, out=out)


def test_editing_the_experiment_module_recomputes(tmp_path):
    out = tmp_path / "out"
    command, env = _tiny(tmp_path)
    results = []
    for value in ("1.0", "2.0"):
        module = tmp_path / "tiny_exp.py"
        module.write_text(TINY.replace("VALUE = 1.0", f"VALUE = {value}"))
        done = subprocess.run(command("--out", str(out)), cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        results.append((done.stdout.split()[0], experiment.load(out)[1]["value"]))
    assert results == [("wrote", 1.0), ("wrote", 2.0)]


def test_cpu_devices_flag_sets_the_device_count_and_is_recorded(tmp_path):
    from saddle.descent import _usable_cores

    command, env = _tiny(tmp_path)
    env["XLA_FLAGS"] = " ".join(f for f in env.get("XLA_FLAGS", "").split()
                                if "device_count" not in f)  # no forced device count
    env.pop("JAX_NUM_CPU_DEVICES", None)
    recorded = []  # without the flag, the environment's count stays
    for args, extra in (([], {"JAX_NUM_CPU_DEVICES": "3"}), (["--cpu-devices", "0"], {})):
        out = tmp_path / f"out{len(recorded)}"
        done = subprocess.run(command("--out", str(out), *args), cwd=tmp_path,
                              env={**env, **extra}, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, done.stderr
        recorded.append(json.loads((out / "config.json").read_text())["devices"])
    assert recorded == ["3 cpu", f"{_usable_cores()} cpu"]


def test_a_negative_cpu_devices_flag_is_one_line_before_run(tmp_path, capsys):
    code, err, calls = _main(["--out", str(tmp_path), "--cpu-devices", "-1"], tmp_path, capsys)
    assert (code, calls, err.count("\n")) == (2, 0, 1)
    assert "--cpu-devices must be >= 0, got -1" in err


def test_runner_flag_names_are_refused_as_fields_and_cpu_devices_is_checked():
    @dataclasses.dataclass(frozen=True)
    class Clash:
        cpu_devices: int = experiment.field(1, "Clashes with the runner's flag.")

    with pytest.raises(TypeError, match=r"Clash.cpu_devices clashes with the runner's "
                                        r"--cpu-devices flag"):
        experiment.build_parser(Clash, "prog", None)
    with pytest.raises(ValueError, match=r"^cpu_devices must be an integer >= 0 or None, "
                                         r"got -1$"):
        experiment.main(Config, Counter().run, None, summarize, argv=[], cpu_devices=-1)
    parser = experiment.build_parser(Config, "prog", None)
    parser.set_defaults(cpu_devices=0)  # as main does with its keyword: --help shows it
    assert "(default: 0)" in " ".join(parser.format_help().split()).split("--cpu-devices")[-1]


# ----------------------------------------------------------------------------- experiments
RUNNABLE = ([f"experiments.{m.name}" for m in pkgutil.iter_modules(experiments.__path__)
             if not m.name.startswith("_")]
            + ["benchmarks.throughput"])


@pytest.mark.parametrize("modname", RUNNABLE)
def test_every_experiment_field_has_help(modname):
    module = importlib.import_module(modname)
    parser = experiment.build_parser(module.Config, modname, module.__doc__)
    text = " ".join(parser.format_help().split())
    for f in dataclasses.fields(module.Config):
        assert " ".join(f.metadata["help"].split()) in text


def test_part_takes_one_tag_and_strips_its_prefix():
    data = {"a__x": 1, "a__y__z": 2, "ab__x": 3, "b__x": 4, "a_x": 5}
    assert experiment.part(data, "a") == {"x": 1, "y__z": 2}
    assert experiment.part(data, "ab") == {"x": 3}
    assert experiment.part(data, "c") == {}


@pytest.mark.parametrize("kwargs, message", [
    ({"figure_formats": ("png", "jpeg")}, "figure_formats must be"),
    ({"figure_formats": "png"}, "figure_formats must be"),
    ({"figure_formats": ()}, "figure_formats must be"),
    ({"dpi": 0}, "dpi must be an integer >= 10"),
])
def test_bad_figure_options_fail_before_run(kwargs, message, tmp_path):
    c = Counter()
    with pytest.raises(ValueError, match=message):
        experiment.run_experiment(Config(), c.run, plot, summarize, out=tmp_path, **kwargs)
    assert c.calls == 0


def test_figure_formats_and_dpi_are_honoured(tmp_path):
    from PIL import Image

    res = experiment.run_experiment(Config(), Counter().run, plot, summarize, out=tmp_path,
                                    figure_formats=("png", "svg"), dpi=40)
    assert sorted(p.name for p in res.figures) == ["fig.png", "fig.svg"]
    with Image.open(tmp_path / "fig.png") as im:  # matplotlib's default 6.4 × 4.8 in, cropped
        assert im.width <= 6.4 * 40 + 2 and im.height <= 4.8 * 40 + 2
