"""``python -m experiments``: every experiment listed with its claim, last verdict and runtime."""

import json
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


def test_the_command_lists_every_experiment_and_rejects_unknown_names(tmp_path, capsys):
    assert listing.main(["--results", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    for name in listing.modules():
        assert any(line.startswith(name + " ") for line in lines), name
    with pytest.raises(SystemExit) as err:
        listing.main(["figures", "--only", "no_such_experiment"])
    assert err.value.code == 2


def test_web_copy_shrinks_wide_figures_and_keeps_their_colours(tmp_path):
    from PIL import Image

    im = Image.new("RGB", (2800, 1000), (230, 20, 20))
    im.paste((20, 40, 220), (1400, 0, 2800, 1000))  # right half blue
    im.save(tmp_path / "wide.png")
    listing.web_copy(tmp_path / "wide.png", tmp_path / "out.png")
    with Image.open(tmp_path / "out.png") as out:
        assert out.size == (1400, 500)
        rgb = out.convert("RGB")
        assert rgb.getpixel((300, 250)) == pytest.approx((230, 20, 20), abs=3)
        assert rgb.getpixel((1100, 250)) == pytest.approx((20, 40, 220), abs=3)
    Image.new("RGB", (600, 400), (0, 0, 0)).save(tmp_path / "small.png")
    listing.web_copy(tmp_path / "small.png", tmp_path / "small_out.png")
    assert Image.open(tmp_path / "small_out.png").size == (600, 400)  # never enlarged


def test_publish_and_gallery_put_claim_verdict_and_figures_in_the_readme(tmp_path):
    from PIL import Image

    results, figs = tmp_path / "results", tmp_path / "docs" / "figures"
    (results / "textbook").mkdir(parents=True)
    Image.new("RGB", (300, 200), (0, 0, 0)).save(results / "textbook" / "textbook.png")
    (results / "textbook" / "summary.json").write_text(json.dumps(
        {"verdict": "confirmed", "because": "x ≈ −0.27  and 1.09 found"}))
    (results / "textbook" / "config.json").write_text(json.dumps({"runtime_s": 95.0}))
    with pytest.raises(FileNotFoundError, match="no finished run of atlas"):
        listing.publish("atlas", results, figs)
    assert [p.name for p in listing.publish("textbook", results, figs)] == ["textbook.png"]
    mods = {k: v for k, v in listing.modules().items() if k in ("atlas", "textbook")}
    block = listing.gallery(mods, figs)
    assert "atlas" not in block  # nothing published for it
    assert "#### `textbook`: confirmed" in block and mods["textbook"].CLAIM.split()[0] in block
    assert "*confirmed* (default config, 1.6 min): x ≈ −0.27 and 1.09 found" in block
    assert f'<img src="{(figs / "textbook" / "textbook.png").as_posix()}"' in block
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{listing.START}\nold\n{listing.END}\nrest\n")
    listing.update_readme(readme, block)
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith("\nrest\n") and "old" not in text
    assert block in text
    readme.write_text("no markers\n")
    with pytest.raises(ValueError, match="needs one"):
        listing.update_readme(readme, block)
