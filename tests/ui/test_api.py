"""The UI through its HTTP API (gradio_client), as a script or another program would use it."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from vidgen.io import read_video

EXPORTS = Path(__file__).resolve().parents[1] / "fixtures" / "exports_v1"
GAN = str(EXPORTS / "gan_cond_tiny")
PREDICTOR = str(EXPORTS / "convlstm_tiny")


@pytest.fixture(scope="module")
def client(server):
    from gradio_client import Client

    return Client(server[0], verbose=False)


def test_generate_returns_an_mp4_every_browser_plays(client):
    video, still, info = client.predict(GAN, "every class (one row each)", 3, 2, 0, 1.0, 18, 1.0,
                                        api_name="/generate")
    frames = read_video(video)
    assert frames.shape[0] == 4 and frames.shape[1] % 2 == 0 and frames.shape[2] % 2 == 0  # 4 frames, even sizes
    assert frames.shape[1] >= 256  # shown large: tiny clips are upscaled for the page
    data = Path(video).read_bytes()
    assert data.find(b"moov") < data.find(b"mdat")  # faststart: playable while it loads
    import av

    with av.open(video) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264" and stream.codec_context.pix_fmt == "yuv420p"
    assert Path(still).suffix == ".png" and "2 clips of each of 3 classes, seeds 3..4" in info


def test_continue_a_clip_and_the_example(client, server):
    from gradio_client import handle_file

    example = server[1].example_clip()
    video, _, info = client.predict(PREDICTOR, handle_file(example), 0, 5, 2, api_name="/continue_clip")
    assert read_video(video).shape[0] == 4 + 5 and "2 future(s)" in info


@pytest.mark.parametrize("content, message", [
    (b"not a video at all", "is not a video this server can read"),
    (None, "longer than 64 frames"),
])
def test_a_bad_upload_gets_a_clear_message(client, tmp_path, content, message):
    from gradio_client import handle_file

    path = tmp_path / "clip.mp4"
    if content is None:  # a real video, too long for this server
        from vidgen.io import write_video

        write_video(path, np.zeros((80, 16, 16, 3), dtype=np.uint8))
    else:
        path.write_bytes(content)
    with pytest.raises(Exception, match=message) as e:
        client.predict(PREDICTOR, handle_file(str(path)), 0, 5, 1, api_name="/continue_clip")
    assert "Traceback" not in str(e.value)


def test_an_oversized_upload_is_refused(client, tmp_path):
    from gradio_client import handle_file

    path = tmp_path / "big.mp4"
    path.write_bytes(b"\0" * (600 * 1024))  # over the 0.5 MB cap
    with pytest.raises(Exception, match="(?i)size|large|exceed|413"):
        client.predict(PREDICTOR, handle_file(str(path)), 0, 5, 1, api_name="/continue_clip")


def test_two_concurrent_requests_are_queued_not_run_at_once(client, server, monkeypatch):
    service = server[1]
    spans: list[tuple[float, float]] = []
    original = service.generate

    def slow(*args, **kwargs):
        start = time.perf_counter()
        time.sleep(0.5)
        out = original(*args, **kwargs)
        spans.append((start, time.perf_counter()))
        return out

    monkeypatch.setattr(service, "generate", slow)
    jobs = [client.submit(GAN, None, k, 1, 0, 1.0, api_name="/generate") for k in range(2)]
    for job in jobs:
        job.result(timeout=60)
    assert len(spans) == 2
    (a0, a1), (b0, b1) = sorted(spans)
    assert b0 >= a1  # one model job at a time: the second waited for the first


def test_the_server_listens_on_loopback_only(server):
    import socket

    port = int(server[0].rsplit(":", 1)[1].strip("/"))
    with socket.socket() as s:  # reachable on 127.0.0.1 ...
        assert s.connect_ex(("127.0.0.1", port)) == 0
    addresses = {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)}
    for address in addresses - {"127.0.0.1", "127.0.1.1"}:  # ... and on no other address of this machine
        with socket.socket() as s:
            s.settimeout(1)
            assert s.connect_ex((address, port)) != 0
    assert threading.active_count() >= 1


def test_evaluate_scores_a_run_and_a_bad_metric_is_a_message(client):
    table = client.predict(PREDICTOR, "frames", None, 8, "data.seed=1", api_name="/evaluate")
    assert "**frames** of `convlstm`" in table and "| mse |" in table
    with pytest.raises(Exception, match="unknown metric 'fvd'"):
        client.predict(PREDICTOR, "fvd", None, 8, "", api_name="/evaluate")


def test_post_process_a_clip_and_a_bad_op_is_a_message(client, server):
    from gradio_client import handle_file

    example = server[1].example_clip()
    video, _, info = client.predict(handle_file(example), "deflicker,interpolate:x2", "", [], api_name="/post_process")
    assert read_video(video).shape[0] == 39 and "20 -> 39 frames" in info and "flicker index" in info
    with pytest.raises(Exception, match="unknown post-processing op 'blur'"):
        client.predict(handle_file(example), "blur", "", [], api_name="/post_process")


def test_post_process_with_a_trained_network(client, server, tmp_path):
    from gradio_client import handle_file

    from vidgen import config as cfgmod
    from vidgen.train import loop
    from vidgen.train.config import ExperimentConfig

    run = tmp_path / "ifnet"
    recipe = Path(__file__).resolve().parents[2] / "configs" / "debug" / "ifnet_tiny.yaml"
    loop.train(cfgmod.load(ExperimentConfig, recipe, [f"run_dir={run}"]), echo=lambda line: None)
    example = server[1].example_clip()
    video, _, info = client.predict(handle_file(example), "interpolate:x2", "", [str(run)], api_name="/post_process")
    assert read_video(video).shape[0] == 39 and f"interpolate [network {run}]: 20 -> 39 frames" in info
    with pytest.raises(Exception, match="interpolate network, and the ops hold no interpolate"):
        client.predict(handle_file(example), "denoise", "", [str(run)], api_name="/post_process")


def test_post_process_upscales_with_a_trained_upscaler(client, server, tmp_path):
    from gradio_client import handle_file

    from vidgen import config as cfgmod
    from vidgen.train import loop
    from vidgen.train.config import ExperimentConfig

    run = tmp_path / "basicvsr"
    recipe = Path(__file__).resolve().parents[2] / "configs" / "debug" / "basicvsr_tiny.yaml"
    loop.train(cfgmod.load(ExperimentConfig, recipe, [f"run_dir={run}"]), echo=lambda line: None)
    example = server[1].example_clip()
    _, still, info = client.predict(handle_file(example), "upscale", "", [str(run)], api_name="/post_process")
    assert f"upscale [network {run}]: 20 -> 20 frames" in info
    assert server[1].load(str(run)).upscale(read_video(example)[:2]).shape[1:3] == (256, 256)  # 64 -> 256


def test_generate_with_a_diffusion_model_takes_its_steps_and_guidance(client, server, tmp_path):
    from vidgen.errors import VidgenError

    from vidgen import config as cfgmod
    from vidgen.train import loop
    from vidgen.train.config import ExperimentConfig

    run = tmp_path / "diffusion"
    recipe = Path(__file__).resolve().parents[2] / "configs" / "debug" / "video_unet_tiny.yaml"
    loop.train(cfgmod.load(ExperimentConfig, recipe, [f"run_dir={run}"]), echo=lambda line: None)
    video, _, info = client.predict(str(run), "square", 0, 2, 0, 1.0, 3, 2.0, api_name="/generate")
    assert read_video(video).shape[0] == 8 and "video_unet: 2 clips of class square" in info
    with pytest.raises(VidgenError, match="sampler steps must be between 1 and 200"):  # the page's slider stops at 1
        server[1].generate(str(run), num=1, sampling_steps=0)
