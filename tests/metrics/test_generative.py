"""Distribution metrics of generative models: names, clip files, scoring a model, metrics during training."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
import torch
from PIL import Image

import vidgen
from vidgen.cli import main as cli_main
from vidgen.config import load
from vidgen.errors import ConfigError, VidgenError
from vidgen.io.video import write_video
from vidgen.metrics import fvd
from vidgen.metrics.generative import (
    evaluate_generator,
    fitting_metric,
    generated_clips,
    load_clips,
    parse_name,
    score_files,
    score_sampler,
)
from vidgen.train.config import ExperimentConfig
from vidgen.train.loop import train


class MomentsDetector(fvd.Detector):
    """Per-channel means and spreads of each frame half: a cheap, deterministic feature map."""

    name = "moments"

    def features(self, videos: torch.Tensor) -> torch.Tensor:
        x = videos.float()
        return torch.cat([x.mean((1, 3, 4)), x.std((1, 3, 4)), x[:, : x.shape[1] // 2].mean((1, 2, 3, 4))[:, None]], 1)


def clips(n: int, seed: int, t: int = 4, s: int = 8, c: int = 3) -> torch.Tensor:
    return torch.rand(n, t, c, s, s, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_metric_names():
    assert parse_name("fvd2048_16f") == ("fvd2048_16f", "fvd", 2048, 16)
    assert parse_name("kvd256_16f")[1:] == ("kvd", 256, 16)
    assert parse_name("cond_acc500")[1:] == ("cond_acc", 500, None)
    assert parse_name("cond_acc").clips == 1000
    for bad in ("fvd", "fvd2048", "fid50k", "fvd1_16f", "fvd16_0f"):
        with pytest.raises(ConfigError):
            parse_name(bad)


def test_clip_files_round_trip(tmp_path, caplog):
    x = clips(3, 0)
    u8 = ((x + 1) * 127.5).round().to(torch.uint8).permute(0, 1, 3, 4, 2).numpy()  # [N, T, H, W, C]
    np.save(tmp_path / "a.npy", u8)
    torch.testing.assert_close(load_clips(tmp_path / "a.npy"), x, atol=1 / 127.5, rtol=0)
    np.save(tmp_path / "f.npy", x.permute(0, 1, 3, 4, 2).numpy())  # float [N, T, H, W, C]
    torch.testing.assert_close(load_clips(tmp_path / "f.npy"), x)
    np.save(tmp_path / "g.npy", x.numpy())  # float [N, T, C, H, W]
    torch.testing.assert_close(load_clips(tmp_path / "g.npy", frames=2), x[:, :2])
    np.savez(tmp_path / "b.npz", videos=u8, labels=np.arange(3))
    assert load_clips(tmp_path / "b.npz").shape == (3, 4, 3, 8, 8)
    folder = tmp_path / "videos"
    for i in range(2):
        write_video(folder / f"clip{i}.mp4", u8[i], fps=4)
    (folder / "broken.mp4").write_bytes(b"not a video")
    with caplog.at_level(logging.WARNING, logger="vidgen.metrics.generative"):
        got = load_clips(folder)
    assert got.shape == (2, 4, 3, 8, 8)
    [message] = [r.getMessage() for r in caplog.records]
    assert "skipped 1 of 3 videos" in message and "broken.mp4" in message and "not a readable video" in message


def test_a_folder_of_clips_is_searched_recursively_and_names_what_it_skips(tmp_path, caplog):
    u8 = ((clips(5, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 1, 3, 4, 2).numpy()  # [N, T, H, W, C]
    root = tmp_path / "fake"
    write_video(root / "a.mp4", u8[0], fps=4)
    write_video(root / "cls1" / "b.mp4", u8[1], fps=4)
    write_video(root / "cls2" / "deeper" / "c.mp4", u8[2], fps=4)
    frames = root / "cls2" / "frames_d"  # a folder of frame images is one clip, as for the folder dataset
    frames.mkdir(parents=True)
    for t, frame in enumerate(u8[3]):
        Image.fromarray(frame).save(frames / f"{t}.png")
    write_video(root / ".hidden" / "e.mp4", u8[4], fps=4)  # hidden: left out
    for name in ("bad1.mp4", "cls1/bad2.mp4", "cls2/bad3.gif", "cls2/deeper/bad4.mp4"):
        (root / name).write_bytes(b"not a video")
    with caplog.at_level(logging.WARNING, logger="vidgen.metrics.generative"):
        got = load_clips(root)
    assert got.shape == (4, 4, 3, 8, 8)
    torch.testing.assert_close(got[3], torch.from_numpy(u8[3]).permute(0, 3, 1, 2).float() / 127.5 - 1)
    [message] = [r.getMessage() for r in caplog.records]
    assert f"skipped 4 of 8 videos in {root}" in message
    assert "bad1.mp4, cls1/bad2.mp4, cls2/bad3.gif and 1 more" in message and "not a readable video" in message


@pytest.mark.parametrize("make, match", [
    (lambda p: np.save(p, np.zeros((2, 3, 4), np.uint8)), "5-D"),
    (lambda p: np.save(p, np.full((1, 2, 4, 4, 3), 3.0, np.float32)), r"\[-1, 1\]"),
    (lambda p: None, "does not exist"),
])
def test_clip_file_errors(tmp_path, make, match):
    path = tmp_path / "x.npy"
    make(path)
    with pytest.raises(VidgenError, match=match):
        load_clips(path)


def test_score_files_is_zero_for_the_same_clips_and_grows_with_the_difference(tmp_path):
    x = clips(40, 0)
    np.save(tmp_path / "real.npy", x.numpy())
    np.save(tmp_path / "same.npy", x.numpy())
    np.save(tmp_path / "near.npy", (x * 0.9).numpy())
    np.save(tmp_path / "far.npy", (x * 0.5).numpy())
    det = MomentsDetector()
    same = score_files(tmp_path / "real.npy", tmp_path / "same.npy", "fvd40_4f", detector=det, progress=False)
    near = score_files(tmp_path / "real.npy", tmp_path / "near.npy", "fvd40_4f", detector=det, progress=False)
    far = score_files(tmp_path / "real.npy", tmp_path / "far.npy", "fvd40_4f", detector=det, progress=False)
    assert abs(same["value"]) < 1e-8 and 0 < near["value"] < far["value"]
    assert same["detector"] == "moments" and same["real_clips"] == same["fake_clips"] == 40
    kvd = score_files(tmp_path / "real.npy", tmp_path / "far.npy", "kvd40_4f", detector=det, progress=False)
    assert kvd["metric"] == "kvd40_4f" and kvd["value"] > 0
    with pytest.raises(VidgenError, match="needs 50") as e:
        score_files(tmp_path / "real.npy", tmp_path / "same.npy", "fvd50_4f", detector=det, progress=False)
    assert "use fvd32_4f instead" in e.value.hint  # the largest power of two of the 40 clips, the same frames


def test_generated_clips_use_one_seed_per_clip_whatever_the_batch():
    def sample(seed, n, frames):
        return torch.stack([clips(1, seed + i)[0] for i in range(n)])

    a = torch.cat(list(generated_clips(sample, 7, seed=3, batch_size=2)))
    b = torch.cat(list(generated_clips(sample, 7, seed=3, batch_size=5)))
    assert torch.equal(a, b) and torch.equal(a[4], clips(1, 7)[0])


def test_score_sampler_against_a_dataset_caches_the_real_statistics(tmp_path):
    real = [{"video": v} for v in clips(24, 1)]

    def same_as_real(seed, n, frames):  # "generates" the real clips: FVD 0
        return torch.stack([real[i]["video"] for i in range(seed, seed + n)])

    det = MomentsDetector()
    kw = dict(real=real, detector=det, data_config={"name": "toy", "seed": 1}, cache_dir=tmp_path, progress=False)
    r = score_sampler(same_as_real, "fvd24_4f", **kw)
    assert abs(r["value"]) < 1e-8
    assert len(list(tmp_path.glob("stats-*.npz"))) == 1
    score_sampler(same_as_real, "fvd24_4f", **kw)  # the same key: read back, no new file
    assert len(list(tmp_path.glob("stats-*.npz"))) == 1
    score_sampler(same_as_real, "fvd24_4f", **{**kw, "data_config": {"name": "toy", "seed": 2}})
    assert len(list(tmp_path.glob("stats-*.npz"))) == 2  # another data config: computed afresh
    with pytest.raises(VidgenError, match="holds 24 clips") as e:
        score_sampler(same_as_real, "fvd32_16f", **kw)
    assert "use fvd16_16f instead" in e.value.hint and "fvd32_16f" not in e.value.hint
    with pytest.raises(VidgenError, match="holds 1 clips") as e:
        score_sampler(same_as_real, "kvd2_4f", **{**kw, "real": real[:1]})
    assert "at least 2 clips" in e.value.hint


def test_fitting_metric_keeps_the_kind_and_frames():
    assert fitting_metric("fvd2048_16f", 300) == "fvd256_16f"
    assert fitting_metric("kvd2048_8f", 2048) == "kvd2048_8f"
    assert fitting_metric("fvd16_4f", 3) == "fvd2_4f" and fitting_metric("fvd16_4f", 1) is None


@pytest.fixture(scope="module")
def tiny_gan(tmp_path_factory, repo_root):
    """A conditional GAN trained a few steps with fvd and cond_acc scored at every snapshot."""
    run = tmp_path_factory.mktemp("gan") / "run"
    cfg = load(ExperimentConfig, repo_root / "configs" / "debug" / "gan_cond_tiny.yaml",
               [f"run_dir={run}", "train.metrics=[fvd32_16f,cond_acc30]", "train.metric_detector=shapes",
                "train.tensorboard=false", "data.num_clips=64", "data.frames=16"])
    train(cfg, echo=lambda line: None)
    return run


def test_metrics_during_training_are_appended_per_snapshot(tiny_gan):
    stats = [json.loads(line) for line in (tiny_gan / "stats.jsonl").read_text().splitlines()]
    for name in ("fvd32_16f", "cond_acc30"):  # the shipped shapes evaluator reads 16 frames
        records = [json.loads(line) for line in (tiny_gan / f"metric-{name}.jsonl").read_text().splitlines()]
        assert len(records) >= 1 and records[-1]["step"] == stats[-1]["step"]
        assert [r["tick"] for r in records] == sorted({r["tick"] for r in records})
        result = records[-1]["results"]
        assert result["metric"] == name and result["detector"] == "shapes" and result["detector_sha256"]
    fvd_value = records_value = json.loads((tiny_gan / "metric-fvd32_16f.jsonl").read_text().splitlines()[-1])
    assert fvd_value["results"]["value"] > 0 and records_value["results"]["real_clips"] == 32
    acc = json.loads((tiny_gan / "metric-cond_acc30.jsonl").read_text().splitlines()[-1])["results"]
    assert 0 <= acc["value"] <= 1 and set(acc["per_class"]) == {"circle", "square", "triangle"}


def test_evaluate_a_loaded_generator_matches_the_training_time_score(tiny_gan):
    gen = vidgen.load(tiny_gan)
    from vidgen.metrics.runs import build_test_set

    dataset, data = build_test_set(gen.meta, [], frames=16, where="test")
    record = json.loads((tiny_gan / "metric-fvd32_16f.jsonl").read_text().splitlines()[-1])
    again = evaluate_generator(gen, "fvd32_16f", dataset, detector="shapes", progress=False, cache_dir=False)
    # the export is the EMA generator the training-time score used, with the same seeds
    assert again["value"] == pytest.approx(record["results"]["value"], rel=1e-4)
    with pytest.raises(VidgenError, match="makes 16"):
        evaluate_generator(gen, "fvd32_20f", dataset, detector="shapes", progress=False)


def test_cli_eval_scores_a_run_and_two_files(tiny_gan, tmp_path, capsys):
    assert cli_main([
        "eval", str(tiny_gan), "--metric", "cond_acc30", "--detector", "shapes", "data.seed=1"]) == 0
    out = capsys.readouterr().out
    assert "cond_acc30" in out and "class circle" in out
    records = (tiny_gan / "metric-cond_acc30.jsonl").read_text().splitlines()
    assert json.loads(records[-1])["data"]["seed"] == 1
    x = vidgen.load(tiny_gan).sample(16, seed=0)
    np.save(tmp_path / "a.npy", x.numpy())
    np.save(tmp_path / "b.npy", vidgen.load(tiny_gan).sample(16, seed=100).numpy())
    assert cli_main(["eval", "--real", str(tmp_path / "a.npy"), "--fake", str(tmp_path / "a.npy"),
                     "--metric", "fvd16_16f", "--detector", "shapes", "--out", str(tmp_path / "r.jsonl")]) == 0
    same = json.loads((tmp_path / "r.jsonl").read_text())["results"]["value"]
    assert abs(same) < 1e-3
    assert cli_main(["eval", "--real", str(tmp_path / "a.npy"), "--fake", str(tmp_path / "b.npy"),
                     "--metric", "fvd16_16f", "--detector", "shapes"]) == 0
    assert cli_main(["eval", "--real", str(tmp_path / "a.npy"), "--metric", "fvd16_16f"]) == 2
    assert "go together" in capsys.readouterr().err


def test_training_metrics_are_checked_before_training(repo_root, tmp_path):
    base = repo_root / "configs" / "debug" / "gan_tiny.yaml"
    with pytest.raises(ConfigError, match="unknown metric"):
        load(ExperimentConfig, base, [f"run_dir={tmp_path}", "train.metrics=[fid50k]"])
    for override, match in (("train.metrics=[fvd32_8f]", "8 frames"), ("train.metrics=[cond_acc10]", "conditional"),
                            ("train.metrics=[fvd100_4f]", "100 real clips"),
                            ("train.metrics=[fvd32_4f] train.metric_detector=shapes", "reads clips of 16 frames")):
        cfg = load(ExperimentConfig, base, [f"run_dir={tmp_path}", *override.split()])
        with pytest.raises(ConfigError, match=match):
            train(cfg, echo=lambda line: None)


def test_two_processes_score_exactly_what_one_process_scores(tmp_path):
    """Under torchrun each rank scores its own block of clips; the summed statistics give one process's value."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    worker = Path(__file__).with_name("metrics_worker.py")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MASTER_ADDR": "127.0.0.1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", str(worker),
           str(tmp_path / "two.json")]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    one = subprocess.run([sys.executable, str(worker), str(tmp_path / "one.json")], capture_output=True, text=True,
                         timeout=300)
    assert one.returncode == 0, one.stderr[-3000:]
    two, single = (json.loads((tmp_path / f).read_text()) for f in ("two.json", "one.json"))
    assert two["fvd21_4f"]["real_clips"] == two["fvd21_4f"]["fake_clips"] == 21  # 11 + 10 clips
    assert two["fvd21_4f"]["value"] == pytest.approx(single["fvd21_4f"]["value"], rel=1e-9)
    assert two["fvd21_4f"]["value"] > 0
    # KVD keeps features: the merged reservoirs hold every clip
    assert two["kvd21_4f"]["value"] == pytest.approx(single["kvd21_4f"]["value"], rel=1e-6)
