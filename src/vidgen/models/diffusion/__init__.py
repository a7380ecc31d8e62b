"""Diffusion family: a video denoiser trained with EDM's preconditioning and masked frame conditioning.

One network (``video_unet``, a U-Net over frames with factorised space and time) generates
clips from noise, continues clips and fills in frames between given ones, of a class with
classifier-free guidance for a conditional model; deterministic samplers (Heun, DDIM) draw
them in 10 to 50 steps. ``training`` holds the loss, ``sampling`` the samplers, ``inference``
the wrapper ``vidgen.load`` returns.
"""

from vidgen.models.diffusion import latent, unet  # noqa: F401

from vidgen.family import FamilySpec  # noqa: E402
from vidgen.models.diffusion.training import DiffusionObjective  # noqa: E402
from vidgen.registry import FAMILIES  # noqa: E402

FAMILIES.register("diffusion", config=DiffusionObjective)(FamilySpec(
    name="diffusion",
    summary="video diffusion (EDM): generate, continue and fill in clips; class guidance",
    objective=DiffusionObjective,
    training="vidgen.models.diffusion.training:DiffusionFamily",
    wrapper="vidgen.models.diffusion.inference:VideoDiffusion",
))
