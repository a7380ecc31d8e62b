"""The Python API.

    import vidgen
    gen = vidgen.load("runs/demo")                 # a GAN run folder written by `vidgen train`
    videos = gen.sample(8, seed=0)                 # float [8, T, C, H, W] in [-1, 1]
    grid = vidgen.io.make_grid(videos)             # uint8 [T, H', W', 3]
    vidgen.io.write_video("samples.mp4", grid, fps=gen.fps)

    pred = vidgen.load("runs/convlstm")            # a predictor run: a VideoPredictor
    clip = pred.resize(vidgen.io.read_video("clip.mp4"))     # float [1, T, C, H, W], the model's size
    future = pred.predict(clip[:, :10], frames=30, seed=0)   # float [1, 30, C, H, W]
    pred.save("exports/convlstm")                  # an inference folder vidgen.load opens again

:func:`load` returns the wrapper the model's family registers (``vidgen/family.py``): a
:class:`VideoGenerator` (``gan``), a :class:`VideoPredictor` (``predictor``) or a
:class:`VideoVAE` (``vae``: clip VAEs sample, reconstruct and interpolate; ``svg`` predicts).
Each says what it can do in ``capabilities``.
"""

from __future__ import annotations

from vidgen.convert import as_video_batch, check_count, check_input, resize_video  # noqa: F401
from vidgen.inference import LoadedModel, load, run_predictor  # noqa: F401
from vidgen.models.gan.inference import VideoGenerator  # noqa: F401
from vidgen.models.predictor.inference import VideoPredictor  # noqa: F401
from vidgen.models.vae.inference import VideoVAE  # noqa: F401

__all__ = ["load", "LoadedModel", "VideoGenerator", "VideoPredictor", "VideoVAE"]
