"""Restoration family: networks that turn a degraded video into a clean one, one architecture per file.

- ``fastdvdnet`` (denoise): FastDVDnet's two-stage U-Nets over 5 frames with a noise map;
- ``deflickernet`` (deflicker): a blind temporal-consistency U-Net over a window of frames;
- ``ifnet`` (interpolate): RIFE-style intermediate flows, fusion mask and residual.

They train on any clip set through the one training loop: each step degrades the batch's
clean clips (``degrade``) and regresses the clean target (``training``). Loaded, they serve
the post-processing ops: ``vidgen post VIDEO --ops denoise --out OUT denoise.model=RUN``.
``common`` holds what the architectures share; it registers nothing.
"""

from vidgen.models.restore import deflicker, denoiser, interpolator  # noqa: F401

from vidgen.family import FamilySpec  # noqa: E402
from vidgen.models.restore.training import RestoreObjective  # noqa: E402
from vidgen.registry import FAMILIES  # noqa: E402

FAMILIES.register("restore", config=RestoreObjective)(FamilySpec(
    name="restore",
    summary="restoration networks: denoise, deflicker, interpolate frames of a video",
    objective=RestoreObjective,
    training="vidgen.models.restore.training:RestoreFamily",
    wrapper="vidgen.models.restore.inference:VideoRestorer",
))
