"""Domain evaluators: shapes of the model, save/load, training that learns, cond_acc, errors, shipped files."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import torch
from torch import nn

from vidgen.data import build_dataset
from vidgen.data.digits import MovingDigitsConfig
from vidgen.data.synthetic import BouncingBallsConfig, ShapesConfig
from vidgen.errors import ConfigError, DataError, VidgenError
from vidgen.metrics.evaluator import (
    EvaluatorArch,
    VideoEvaluator,
    cond_acc,
    load_evaluator,
    save_evaluator,
    shipped_evaluators,
)
from vidgen.metrics.evaluator_train import _split, train_evaluator
from vidgen.metrics.stats import frechet_of_features as _frechet

# big shapes in 16x16 frames: a problem the evaluator learns in seconds
TINY = dict(resolution=16, frames=4, num_clips=600, min_size=0.35, max_size=0.45)  # chance: 1/3


def _tiny_model(**kw) -> VideoEvaluator:
    arch = EvaluatorArch(**{"channels": 3, "frames": 4, "resolution": 16, "num_classes": 3, "widths": (4, 8, 16),
                            "feature_dim": 12, **kw})
    torch.manual_seed(0)
    return VideoEvaluator(arch=arch, name="tiny", class_names=["a", "b", "c"][: arch.num_classes]).eval()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """An evaluator trained on TINY shapes, scored on the same set with another seed."""
    out = tmp_path_factory.mktemp("tiny_evaluator")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # module fixtures run before conftest's one-thread fixture
    result = train_evaluator(ShapesConfig(**TINY), out_dir=out, held_out=ShapesConfig(**{**TINY, "seed": 1}),
                             steps=300, batch_size=16, lr=5e-3, widths=(8, 16, 32), feature_dim=32, seed=0,
                             max_held_out=200, command="pytest")
    torch.set_num_threads(threads)
    return out, result


# ---------------------------------------------------------------------------- the model


def test_features_and_logits_have_the_documented_shapes():
    model = _tiny_model()
    videos = torch.rand(5, 4, 3, 16, 16) * 2 - 1
    with torch.no_grad():
        assert model.features(videos).shape == (5, 12)
        assert model.classify(videos).shape == (5, 3)
        assert torch.equal(model(videos), model.classify(videos))
    assert model.prepare(videos).shape == (5, 3, 4, 16, 16)  # [B, C, T, H, W]


def test_inputs_are_trimmed_resized_and_clamped():
    model = _tiny_model()
    videos = torch.rand(2, 6, 3, 16, 16) * 2 - 1
    with torch.no_grad():
        # longer clips: the first `frames` frames
        assert torch.equal(model.features(videos), model.features(videos[:, :4]))
        # other sizes: resized (area when shrinking: a 2x2 box of a 32x32 clip)
        big = videos[:, :4].repeat_interleave(2, dim=3).repeat_interleave(2, dim=4)
        assert torch.allclose(model.features(big), model.features(videos[:, :4]), atol=1e-5)
        assert model.prepare(torch.zeros(1, 4, 3, 8, 8)).shape == (1, 3, 4, 16, 16)
        # values outside [-1, 1] are clamped, as a written video would show them
        assert torch.equal(model.features(videos * 3), model.features((videos * 3).clamp(-1, 1)))


@pytest.mark.parametrize("shape, match", [((2, 3, 3, 16, 16), "4 frames, got 3"),
                                          ((2, 4, 1, 16, 16), "3-channel clips, got 1"),
                                          ((4, 3, 16, 16), r"\[B, T, C, H, W\]"),
                                          ((0, 4, 3, 16, 16), "empty")])
def test_bad_inputs_are_clear_errors(shape, match):
    with pytest.raises(VidgenError, match=match):
        _tiny_model().features(torch.zeros(shape))


def test_nan_and_integer_inputs_are_refused():
    model = _tiny_model()
    videos = torch.zeros(1, 4, 3, 16, 16)
    videos[0, 1, 0, 3, 3] = float("nan")
    with pytest.raises(VidgenError, match="NaN"):
        model.features(videos)
    with pytest.raises(VidgenError, match="float videos"):
        model.features(torch.zeros(1, 4, 3, 16, 16, dtype=torch.int64))


def test_uint8_videos_are_read_as_0_to_255():
    model = _tiny_model()
    frames = torch.randint(0, 256, (2, 4, 3, 16, 16), dtype=torch.uint8)
    with torch.no_grad():
        assert torch.allclose(model.features(frames), model.features(frames.float() / 127.5 - 1), atol=1e-6)


def test_a_clip_s_features_do_not_depend_on_its_batch():
    model = _tiny_model()
    videos = torch.rand(6, 4, 3, 16, 16) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(model.features(videos)[:2], model.features(videos[:2]), atol=1e-6)


def test_architecture_checks():
    with pytest.raises(ConfigError, match="2 classes"):
        EvaluatorArch(channels=3, frames=4, resolution=16, num_classes=1)
    with pytest.raises(ConfigError, match="widths"):
        EvaluatorArch(channels=3, frames=4, resolution=16, num_classes=3, widths=())
    with pytest.raises(ConfigError, match="frames"):
        EvaluatorArch(channels=3, frames=0, resolution=16, num_classes=3)


# ------------------------------------------------------------------------------- files


def test_save_load_round_trip(tmp_path):
    model = _tiny_model()
    save_evaluator(model, tmp_path / "ev", {"held_out_accuracy": 0.5})
    loaded = load_evaluator(tmp_path / "ev")
    digest = hashlib.sha256((tmp_path / "ev" / "evaluator.safetensors").read_bytes()).hexdigest()
    assert loaded.sha256 == digest == model.sha256
    assert loaded.name == "tiny" and loaded.class_names == ["a", "b", "c"]
    assert not loaded.training and not any(p.requires_grad for p in loaded.parameters())
    meta = json.loads((tmp_path / "ev" / "evaluator.json").read_text())
    assert meta["sha256"] == digest and meta["kind"] == "vidgen-evaluator" and meta["held_out_accuracy"] == 0.5
    assert meta["architecture"] == {"channels": 3, "frames": 4, "resolution": 16, "num_classes": 3,
                                    "widths": [4, 8, 16], "feature_dim": 12}
    videos = torch.rand(3, 4, 3, 16, 16) * 2 - 1
    with torch.no_grad():
        assert torch.equal(loaded.features(videos), model.features(videos))
        assert torch.equal(loaded.classify(videos), model.classify(videos))
    # either file names the evaluator
    assert load_evaluator(tmp_path / "ev" / "evaluator.json").sha256 == digest
    assert not list((tmp_path / "ev").glob(".*.tmp"))  # atomic writes leave no temporary files


def test_a_changed_weights_file_is_refused(tmp_path):
    save_evaluator(_tiny_model(), tmp_path)
    other = _tiny_model()
    with torch.no_grad():
        other.head.bias.add_(1.0)
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in other.state_dict().items()}, str(tmp_path / "evaluator.safetensors"))
    with pytest.raises(VidgenError, match="sha256"):
        load_evaluator(tmp_path)


def test_missing_and_foreign_folders_are_clear_errors(tmp_path):
    with pytest.raises(VidgenError, match="not a folder and not a shipped evaluator") as e:
        load_evaluator(tmp_path / "nowhere")
    assert "shapes" in e.value.hint
    with pytest.raises(VidgenError, match="holds no evaluator"):
        load_evaluator(tmp_path)
    (tmp_path / "evaluator.json").write_text("{}")
    with pytest.raises(VidgenError, match="holds evaluator.json but not"):
        load_evaluator(tmp_path)
    (tmp_path / "evaluator.safetensors").write_bytes(b"")
    with pytest.raises(VidgenError, match="not a vidgen evaluator"):
        load_evaluator(tmp_path)


# ----------------------------------------------------------------------------- training


def test_training_learns_a_tiny_problem(trained):
    out, result = trained
    assert result["held_out_accuracy"] >= 0.85, result  # 0.97 when written; chance is 1/3
    assert result["steps"] == 300 and result["held_out_clips"] == 200
    model = load_evaluator(out)
    assert model.sha256 == result["sha256"] and model.class_names == ["circle", "square", "triangle"]
    meta = model.meta
    assert meta["data"]["name"] == "shapes" and meta["data"]["resolution"] == 16
    assert meta["held_out"]["data"]["seed"] == 1 and meta["command"] == "pytest"
    assert meta["held_out_accuracy"] == pytest.approx(result["held_out_accuracy"], abs=1e-6)
    # the saved model classifies fresh clips as well as training measured
    test = build_dataset(ShapesConfig(**{**TINY, "seed": 7}))
    items = [test[i] for i in range(64)]
    videos = torch.stack([it["video"] for it in items])
    labels = torch.tensor([it["label"] for it in items])
    assert cond_acc(videos, labels, model) >= 0.8


def test_fraction_split_is_disjoint_and_keeps_videos_together():
    dataset = build_dataset(ShapesConfig(num_clips=50))
    train, held = _split(dataset, 0.2, seed=0)
    assert len(held) == 10 and len(train) == 40 and not set(train) & set(held)

    class Folderish:
        class config:
            clips_per_video = 3

        def __len__(self):
            return 30

    train, held = _split(Folderish(), 0.3, seed=1)
    assert sorted([*train, *held]) == list(range(30))
    assert {i // 3 for i in train}.isdisjoint({i // 3 for i in held})


def test_training_errors(tmp_path):
    with pytest.raises(DataError, match="1 class"):
        train_evaluator(BouncingBallsConfig(num_clips=8, resolution=16, frames=4), out_dir=tmp_path, steps=1)
    with pytest.raises(DataError, match="classes"):
        train_evaluator(ShapesConfig(**TINY), out_dir=tmp_path, steps=1,
                        held_out=ShapesConfig(**{**TINY, "kinds": ("circle", "star")}))
    with pytest.raises(ConfigError, match="held_out"):
        train_evaluator(ShapesConfig(**TINY), out_dir=tmp_path, steps=1, held_out=1.5)
    with pytest.raises(ConfigError, match="reads 8 frames"):
        train_evaluator(ShapesConfig(**TINY), out_dir=tmp_path, steps=1, frames=8)
    with pytest.raises(ConfigError, match="steps"):
        train_evaluator(ShapesConfig(**TINY), out_dir=tmp_path, steps=0)
    with pytest.raises(ConfigError, match="dataset config"):
        train_evaluator({"name": "shapes"}, out_dir=tmp_path, steps=1)
    assert not (tmp_path / "evaluator.json").exists()


# ----------------------------------------------------------------------------- cond_acc


class _Brightness(nn.Module):
    """A stand-in evaluator: class k when a clip's mean is closest to (k - 1) / 2."""

    name, num_classes, class_names = "brightness", 3, ["dark", "grey", "light"]

    def classify(self, videos):
        centres = torch.tensor([-0.5, 0.0, 0.5])
        return -(videos.mean(dim=(1, 2, 3, 4))[:, None] - centres).abs()


def _clips(classes):
    return torch.stack([torch.full((2, 1, 4, 4), (k - 1) / 2) for k in classes])


def test_cond_acc_counts_the_class_asked_for():
    ev = _Brightness()
    asked = torch.tensor([0, 1, 2, 2, 1, 0])
    assert cond_acc(_clips(asked.tolist()), asked, ev) == 1.0
    assert cond_acc(_clips([0, 1, 2, 0, 0, 1]), asked, ev, batch_size=4) == 0.5
    assert cond_acc(_clips([2, 2, 2]), [0, 1, 1], ev) == 0.0
    calls = []

    def sample(labels):
        calls.append(len(labels))
        return _clips(((labels + 1) % 3).tolist()) if len(calls) == 2 else _clips(labels.tolist())

    assert cond_acc(sample, asked, ev, batch_size=4) == pytest.approx(4 / 6)  # the second call samples wrongly
    assert calls == [4, 2]
    # a generator whose classes are ordered differently: labels are mapped by name
    assert cond_acc(_clips([2, 1, 0]), [0, 1, 2], ev, class_names=["light", "grey", "dark"]) == 1.0


def test_cond_acc_errors():
    ev = _Brightness()
    with pytest.raises(VidgenError, match=r"labels must be in \[0, 3\)"):
        cond_acc(_clips([0]), [3], ev)
    with pytest.raises(VidgenError, match="2 labels for videos"):
        cond_acc(_clips([0]), [0, 0], ev)
    with pytest.raises(VidgenError, match="at least one"):
        cond_acc(torch.zeros(0, 2, 1, 4, 4), [], ev)
    with pytest.raises(VidgenError, match="integers"):
        cond_acc(_clips([0]), [0.5], ev)
    with pytest.raises(VidgenError, match="returned"):
        cond_acc(lambda labels: torch.zeros(1, 2, 1, 4, 4), [0, 1], ev)
    with pytest.raises(VidgenError, match="unknown to evaluator"):
        cond_acc(_clips([0]), [0], ev, class_names=["dark", "purple"])


# ------------------------------------------------------------------------------ Fréchet


def test_frechet_matches_the_closed_form():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(400, 6))
    assert _frechet(a, a) == pytest.approx(0.0, abs=1e-8)
    # one dimension: (mu_a - mu_b)^2 + (sd_a - sd_b)^2 with the sample moments
    x, y = rng.normal(1.0, 2.0, size=(300, 1)), rng.normal(-1.0, 0.5, size=(200, 1))
    expected = (x.mean() - y.mean()) ** 2 + (x.std(ddof=1) - y.std(ddof=1)) ** 2
    assert _frechet(x, y) == pytest.approx(expected, rel=1e-9)
    # a shift of every feature by 1 adds D to the distance; the distance is symmetric
    b = rng.normal(size=(400, 6))
    assert _frechet(a, b + 1) == pytest.approx(_frechet(b + 1, a), rel=1e-6)
    assert _frechet(b, b + 1) == pytest.approx(6.0, rel=1e-9)


# ------------------------------------------------------------------------- shipped files


SHIPPED = {"shapes": ShapesConfig(seed=123, num_clips=32),
           "moving_digits": MovingDigitsConfig(seed=123, num_clips=32, num_digits=1)}


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_evaluators_classify_fresh_clips(name):
    assert name in shipped_evaluators()
    model = load_evaluator(name)
    meta = model.meta
    assert meta["held_out_accuracy"] >= 0.95 and meta["command"].startswith("vidgen evaluator train")
    assert (model.meta["sha256"] == model.sha256) and len(model.sha256) == 64
    dataset = build_dataset(SHIPPED[name])
    assert model.class_names == dataset.class_names
    items = [dataset[i] for i in range(32)]
    videos = torch.stack([it["video"] for it in items])
    labels = torch.tensor([it["label"] for it in items])
    assert cond_acc(videos, labels, model) >= 0.9
