"""VAE family: variational autoencoders of video, one architecture per file.

- ``vae3d``: one Gaussian latent vector per clip, 3D-convolutional encoder and decoder,
  optionally class-conditional (CVAE). Generate with ``model.decode(model.latents(seeds))``.
- ``svg``: SVG-LP (Denton & Fergus, 2018), per-frame latents with a learned prior; called
  like a predictor, ``model(context, future=n, generator=g)``, a different future per seed.

Both train through ``vidgen.models.vae.training.VAEFamily``, which minimises
``model.loss_terms(video, label, generator)``'s ``recon + w * kl`` (``w``: ``objective.beta``
after a linear warm-up over ``objective.kl_warmup_kimg``). ``losses`` holds the ELBO terms
they share; it registers nothing.
"""

from vidgen.models.vae import frame_vae, svg, vae3d  # noqa: F401

from vidgen.family import FamilySpec  # noqa: E402
from vidgen.models.vae.training import MIGRATED, VAEObjective  # noqa: E402
from vidgen.registry import FAMILIES  # noqa: E402

FAMILIES.register("vae", config=VAEObjective)(FamilySpec(
    name="vae",
    summary="variational autoencoders: clip VAEs sample, reconstruct and interpolate; svg predicts futures",
    objective=VAEObjective,
    training="vidgen.models.vae.training:VAEFamily",
    wrapper="vidgen.models.vae.inference:VideoVAE",
    migrate=MIGRATED,
))
