"""GAN family: one architecture per file, losses in ``losses.py``."""

from vidgen.models.gan import dcgan3d  # noqa: F401
