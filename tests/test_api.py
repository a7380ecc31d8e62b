"""vidgen.load by family: VideoPredictor (shapes, copy-last exactness, long horizons, seeds, input
checks), VideoVAE (vae3d clips, svg futures) and clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import vidgen
from vidgen import config as cfgmod
from vidgen.api import VideoGenerator, VideoPredictor, VideoVAE
from vidgen.errors import VidgenError
from vidgen.io.checkpoint import load_export, save_export
from vidgen.metrics.generative import evaluate_generator
from vidgen.models import build_model
from vidgen.registry import MODELS
from vidgen.train import loop
from vidgen.train.config import ExperimentConfig

TINY = ["data.name=shapes", "data.resolution=16", "data.frames=8", "data.num_clips=32", "model.context=4",
        "model.future=4", "train.batch_size=8", "train.kimg=0.016", "train.tick_kimg=0.008",
        "train.tensorboard=false", "train.precision=fp32"]
VIDEO = {"frames": 8, "resolution": 16, "channels": 3, "fps": 8}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two predictor runs trained through the engine: a tiny ConvLSTM and copy-last."""
    torch.set_num_threads(1)
    out = {}
    for name, extra in (("convlstm", ["model.hidden=[8]", "model.patch_size=2"]), ("copy_last", [])):
        run_dir = tmp_path_factory.mktemp(name)
        cfg = cfgmod.load(ExperimentConfig, None, [f"run_dir={run_dir}", f"model.name={name}", *TINY, *extra])
        out[name] = loop.train(cfg, echo=lambda line: None)
    return out


def _untrained_export(directory, name: str, **model_cfg) -> str:
    """An export of a freshly built ``name`` (no training): its weights, as the engine names them."""
    entry = MODELS.get(name)
    config = cfgmod.from_dict(entry.config, model_cfg, "model")
    model = build_model(config, **{k: VIDEO[k] for k in ("frames", "resolution", "channels")})
    family = entry.meta["family"]
    net, prefix = (model.generator, "generator") if family == "gan" else (model, "model")
    state = {f"{prefix}.{k}": v for k, v in net.state_dict().items()}
    save_export(directory, state, {"family": family, "model": {"name": name, **cfgmod.to_dict(config)},
                                   "video": VIDEO, "class_names": [], "data": {"name": "shapes", "frames": 8}})
    return str(directory)


def _clips(n: int, t: int, *, channels: int = 3, size: int = 16, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, t, channels, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_load_gives_a_predictor_with_the_runs_shape_and_weights(runs):
    pred = vidgen.load(runs["convlstm"])
    assert isinstance(pred, VideoPredictor) and pred.predicts
    assert (pred.context, pred.future, pred.frames, pred.resolution, pred.channels, pred.fps) == (4, 4, 8, 16, 3, 8)
    assert pred.meta["family"] == "predictor" and "convlstm" in repr(pred)
    state, _ = load_export(runs["convlstm"])
    own = pred.model.state_dict()
    assert state and all(torch.equal(own[k.removeprefix("model.")], v) for k, v in state.items())
    assert not pred.model.training
    out = pred.predict(_clips(2, 4), frames=4)
    assert out.shape == (2, 4, 3, 16, 16) and out.dtype == torch.float32 and out.device.type == "cpu"
    assert torch.isfinite(out).all() and out.abs().max() <= 1


def test_copy_last_repeats_the_last_context_frame_exactly(runs):
    pred = vidgen.load(runs["copy_last"])
    context = _clips(3, 5)
    out = pred.predict(context, frames=7)  # past the training horizon of 4
    assert torch.equal(out, context[:, -1:].expand(-1, 7, -1, -1, -1))
    frames = np.random.default_rng(0).integers(0, 256, (5, 16, 16, 3), dtype=np.uint8)  # one clip, file layout
    out = pred.predict(frames, frames=2)
    last = torch.from_numpy(frames[-1]).permute(2, 0, 1).float() / 127.5 - 1
    assert out.shape == (1, 2, 3, 16, 16) and torch.equal(out[0, 1], last)


def test_long_horizons_batches_and_seeds(runs):
    pred = vidgen.load(runs["convlstm"])
    context = _clips(3, 4)
    long = pred.predict(context, frames=10)
    assert long.shape == (3, 10, 3, 16, 16) and torch.isfinite(long).all()
    torch.testing.assert_close(long[:, :4], pred.predict(context, frames=4))  # the rollout is causal
    torch.testing.assert_close(pred.predict(context, frames=10, batch_size=1), long)
    assert torch.equal(pred.predict(context, frames=10, seed=3), pred.predict(context, frames=10, seed=3))


class _Noisy(nn.Module):
    """A stochastic predictor: the last context frame plus noise from the generator it is handed."""

    context, future, trainable = 2, 2, False

    def forward(self, context, *, future, target=None, teacher_forcing=0.0, generator=None):
        assert isinstance(generator, torch.Generator)
        noise = torch.randn(context.shape[0], future, *context.shape[2:], generator=generator)
        return (context[:, -1:] + 0.1 * noise).clamp(-1, 1)


def test_the_seed_reaches_a_stochastic_model():
    pred = VideoPredictor(model=_Noisy(), meta={"model": {"name": "noisy"}, "video": VIDEO},
                          device=torch.device("cpu"))
    context = _clips(2, 2)
    a, b, c = (pred.predict(context, frames=3, seed=s) for s in (0, 0, 1))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_inputs_of_another_size_need_an_explicit_resize(runs):
    pred = vidgen.load(runs["copy_last"])
    with pytest.raises(VidgenError, match="16x16 frames, the input's are 32x24") as e:
        pred.predict(torch.zeros(1, 4, 3, 24, 32), frames=2)
    assert "predictor.resize" in e.value.hint
    with pytest.raises(VidgenError, match="3-channel frames, the input has 1") as e:
        pred.predict(_clips(1, 4, channels=1), frames=2)
    assert "resize" in e.value.hint
    with pytest.raises(VidgenError, match=r"not \[-1, 1\]"):
        pred.predict(_clips(1, 4) * 127.5 + 127.5, frames=2)
    with pytest.raises(VidgenError, match="frames must be an integer >= 1"):
        pred.predict(_clips(1, 4), frames=0)
    wide = np.zeros((5, 24, 32, 3), dtype=np.uint8)
    wide[:, :, 16:] = 255  # right half white: the centre crop keeps both halves
    fitted = pred.resize(wide)
    assert fitted.shape == (1, 5, 3, 16, 16) and fitted[..., 0].min() == -1 and fitted[..., -1].max() == 1
    assert pred.predict(fitted, frames=1).shape == (1, 1, 3, 16, 16)
    gray = pred.resize(np.full((4, 16, 16), 255, dtype=np.uint8))  # [T, H, W] gray -> RGB
    assert gray.shape == (1, 4, 3, 16, 16) and torch.equal(gray, torch.ones_like(gray))
    one = VideoPredictor(model=_Noisy(), meta={"model": {"name": "noisy"}, "video": {**VIDEO, "channels": 1}},
                         device=torch.device("cpu"))
    luma = one.resize(torch.tensor([1.0, -1.0, -1.0]).view(1, 1, 3, 1, 1).expand(1, 2, 3, 16, 16))
    torch.testing.assert_close(luma, torch.full((1, 2, 1, 16, 16), 0.299 * 2 - 1))


def test_vae_exports_load_as_video_vaes(tmp_path):
    vae = vidgen.load(_untrained_export(tmp_path / "vae3d", "vae3d", z_dim=4, width=4))
    assert isinstance(vae, VideoVAE) and not vae.predicts and vae.context is None and vae.z_dim == 4
    clips = vae.sample(3, seed=2)
    assert clips.shape == (3, 8, 3, 16, 16) and clips.abs().max() <= 1
    torch.testing.assert_close(vae.sample(1, seed=3)[0], clips[1])
    assert vae.reconstruct(clips).shape == (3, 8, 3, 16, 16)
    path = vae.interpolate(clips[0], 5, steps=4)  # a clip's posterior mean -> seed 5's prior latent
    assert path.shape == (4, 8, 3, 16, 16)
    torch.testing.assert_close(path[0], vae.reconstruct(clips[:1])[0])
    torch.testing.assert_close(path[-1], vae.sample(1, seed=5)[0])
    with pytest.raises(VidgenError, match="predicts no frames"):
        vae.predict(clips, frames=2)
    with pytest.raises(VidgenError, match="clips of 8 frames"):
        vae.reconstruct(clips[:, :4])

    svg = vidgen.load(_untrained_export(tmp_path / "svg", "svg", context=4, future=4, g_dim=8, z_dim=2,
                                        rnn_size=8, width=4))
    assert isinstance(svg, VideoVAE) and svg.predicts and (svg.context, svg.future) == (4, 4)
    context = _clips(2, 4)
    a, b, c = (svg.predict(context, frames=6, seed=s) for s in (1, 1, 2))
    assert a.shape == (2, 6, 3, 16, 16) and torch.equal(a, b) and not torch.equal(a, c)
    with pytest.raises(VidgenError, match="stochastic predictor"):
        svg.sample(2)


def test_other_families_and_wrong_uses_are_clear_errors(tmp_path, runs):
    gan = vidgen.load(_untrained_export(tmp_path / "gan", "dcgan3d", z_dim=4, g_channels=4, d_channels=4))
    assert isinstance(gan, VideoGenerator) and gan.sample(2, seed=0).shape == (2, 8, 3, 16, 16)
    with pytest.raises(VidgenError, match="next-frame predictor") as e:
        vidgen.load(runs["copy_last"]).sample(4)
    assert "vidgen predict" in e.value.hint
    save_export(tmp_path / "odd", {}, {"family": "flow_matching", "model": {"name": "copy_last"}, "video": VIDEO})
    with pytest.raises(VidgenError, match="unknown model family 'flow_matching'"):
        vidgen.load(tmp_path / "odd")


def test_info_gan_exports_sample_by_category_and_refuse_cond_acc(tmp_path):
    """model.info_classes: the categories are sampled as classes, named as categories, not scored as classes."""
    gen = vidgen.load(_untrained_export(tmp_path, "dcgan3d", z_dim=8, g_channels=4, d_channels=4, max_channels=16,
                                        info_classes=3))
    assert isinstance(gen, VideoGenerator) and (gen.num_classes, gen.info_classes) == (3, 3)
    assert gen.class_names == ["category 0", "category 1", "category 2"] and "3 categories" in repr(gen)
    first, last = gen.sample(2, label=0), gen.sample(2, label=2)
    assert first.shape == (2, 8, 3, 16, 16) and not torch.equal(first, last)
    torch.testing.assert_close(gen.sample(3)[2], gen.sample(1, seed=2, label=2)[0])  # seed s: category s mod 3
    with pytest.raises(VidgenError, match="without labels"):
        evaluate_generator(gen, "cond_acc16", dataset=None)


def test_long_work_shows_a_bar_on_a_terminal_and_nothing_elsewhere(monkeypatch, capsys):
    from vidgen.utils import progress as progress_mod

    monkeypatch.setenv("VIDGEN_PROGRESS", "1")
    assert list(progress_mod.progress(range(3), desc="work")) == [0, 1, 2]
    assert "work" in capsys.readouterr().err  # a bar on stderr
    assert list(progress_mod.progress(range(1), desc="one")) == [0]  # a single step: no bar
    assert "one" not in capsys.readouterr().err
    monkeypatch.setenv("VIDGEN_PROGRESS", "0")
    list(progress_mod.progress(range(3), desc="quiet"))
    assert capsys.readouterr().err == ""
