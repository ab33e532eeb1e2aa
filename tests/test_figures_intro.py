"""The front page's figure (tools/figures_intro.py) shows what the labs stored in results/,
and says which file is missing when one is."""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from helpers.digits import load_samples  # noqa: E402
from helpers.collapse import evaluate  # noqa: E402
from helpers.point_files import load_points  # noqa: E402
from helpers.recorded import load_recorded  # noqa: E402
from tools import figures_intro  # noqa: E402

RESULTS = ROOT / "results"


def stored(directory: Path) -> Path:
    """A copy of the files the figure reads, in a folder of its own."""
    directory.mkdir()
    for name in figures_intro.required_files():
        if not (RESULTS / name).is_file():
            pytest.skip(f"results/{name} is not stored yet")
        shutil.copy(RESULTS / name, directory / name)
    return directory


def test_draws_what_is_stored(tmp_path):
    results = stored(tmp_path / "results")
    png = tmp_path / "overview.png"
    shown = figures_intro.book_overview(png, results)
    assert png.read_bytes().startswith(b"\x89PNG") and png.stat().st_size > 50_000

    images, _ = load_samples(results / "05_gan_samples_torch.npz")
    assert np.array_equal(shown["gan_images"], images[:figures_intro.GAN_GRID ** 2])

    fids = load_recorded(results)["07_fid"]["torch"]
    expected = sorted((key.removeprefix("rank_fid_"), value) for key, value in fids.items()
                      if key.startswith("rank_fid_") and key not in figures_intro.NOT_MODELS)
    assert sorted(shown["ranking"]) == expected
    assert [v for _, v in shown["ranking"]] == sorted(v for _, v in expected)

    points, benches, _ = load_points(results / "06_mode_collapse_samples_torch.npz")
    ring = figures_intro.BENCHMARK
    recorded = load_recorded(results)["06_mode_collapse"]["torch"]
    best = shown["best_method"]
    assert best != "gan" and all(recorded[f"{ring}_{best}_modes"] >= recorded[f"{ring}_{m}_modes"]
                                 for n, m in points if n == ring and m != "gan")
    for method in ("gan", best):
        report = evaluate(points[(ring, method)][0], benches[ring])
        assert shown["modes"][method] == (report.modes, benches[ring].n_modes)


def test_a_changed_result_changes_the_figure(tmp_path):
    """The ranking is read from the file, not remembered: a changed value moves its bar."""
    results = stored(tmp_path / "results")
    data = json.loads((results / "07_fid.json").read_text())
    worst = max((k for k in data["torch"] if k.startswith("rank_fid_")
                 and k not in figures_intro.NOT_MODELS), key=data["torch"].get)
    data["torch"][worst] = min(v for k, v in data["torch"].items()
                               if k.startswith("rank_fid_")) / 2
    (results / "07_fid.json").write_text(json.dumps(data))
    shown = figures_intro.book_overview(tmp_path / "overview.png", results)
    assert shown["ranking"][0] == (worst.removeprefix("rank_fid_"), data["torch"][worst])


@pytest.mark.parametrize("missing", figures_intro.required_files())
def test_a_missing_file_is_named(tmp_path, missing):
    results = stored(tmp_path / "results")
    (results / missing).unlink()
    png = tmp_path / "overview.png"
    with pytest.raises(FileNotFoundError, match=f"results/{missing}"):
        figures_intro.book_overview(png, results)
    assert not png.exists()


def test_labels_of_the_ranked_sets():
    assert figures_intro.rank_label("autoencoder_32") == "autoencoder, code 32"
    assert figures_intro.rank_label("gan_tensorflow") == "GAN, TensorFlow lab"
    assert figures_intro.rank_label("floor") == "real test digits"
    assert figures_intro.rank_label("vae4_torch") == "VAE, PyTorch lab"
    assert figures_intro.rank_label("new_model") == "new model"
