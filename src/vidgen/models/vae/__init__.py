"""VAE family: variational autoencoders of video, one architecture per file.

- ``vae3d``: one Gaussian latent vector per clip, 3D-convolutional encoder and decoder,
  optionally class-conditional (CVAE). Generate with ``model.decode(model.latents(seeds))``.
- ``svg``: SVG-LP (Denton & Fergus, 2018), per-frame latents with a learned prior; called
  like a predictor, ``model(context, future=n, generator=g)``, a different future per seed.

Both train through ``vidgen.train.vae.VAEFamily``, which minimises
``model.loss_terms(video, label, generator)``'s ``recon + w * kl`` (``w``: ``config.beta``
after a linear warm-up over ``config.kl_warmup_kimg``). ``losses`` holds the ELBO terms
they share; it registers nothing.
"""

from vidgen.models.vae import svg, vae3d  # noqa: F401
