"""``python -m experiments``: every experiment listed with its claim, last verdict and runtime."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from experiments import __main__ as listing
from saddle.experiment import to_jsonable

REPO = Path(__file__).resolve().parents[1]


def test_every_experiment_module_states_a_claim_and_a_runtime():
    files = sorted(p.stem for p in (REPO / "experiments").glob("*.py")
                   if not p.stem.startswith("_"))
    mods = listing.modules()
    assert sorted(mods) == files  # none is missing from the table
    for name, mod in mods.items():
        assert isinstance(mod.CLAIM, str) and len(mod.CLAIM.split()) >= 6, name
        assert isinstance(mod.RUNTIME, str) and any(c.isdigit() for c in mod.RUNTIME), name


def test_entry_reads_the_last_runs_verdict_and_runtime(tmp_path):
    mod = listing.modules()["textbook"]
    folder = tmp_path / "textbook"
    folder.mkdir()
    e = listing.entry("textbook", mod, tmp_path)
    assert e.verdict is None and e.last_runtime_s is None  # never run
    (folder / "summary.json").write_text(json.dumps({"verdict": "refuted", "because": "x"}))
    (folder / "config.json").write_text(json.dumps(
        {"config": to_jsonable(mod.Config()), "runtime_s": 12.5}))
    e = listing.entry("textbook", mod, tmp_path)
    assert (e.verdict, e.last_runtime_s, e.default_config) == ("refuted", 12.5, True)
    assert "last run: refuted in 12 s" in listing.table([e])
    other = {**to_jsonable(mod.Config()), "seed": 12345}
    (folder / "config.json").write_text(json.dumps({"config": other, "runtime_s": 300}))
    text = listing.table([listing.entry("textbook", mod, tmp_path)])
    assert "refuted in 5.0 min (non-default config)" in text


def test_the_command_lists_every_experiment_and_rejects_unknown_names(tmp_path):
    done = subprocess.run([sys.executable, "-m", "experiments", "--results", str(tmp_path)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    for name in listing.modules():
        assert any(line.startswith(name + " ") for line in done.stdout.splitlines()), name
    with pytest.raises(SystemExit) as err:
        listing.main(["figures", "--only", "no_such_experiment"])
    assert err.value.code == 2
