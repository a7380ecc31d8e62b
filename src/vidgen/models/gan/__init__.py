"""GAN family: one architecture per file, losses in ``losses.py``."""

from vidgen.models.gan import dcgan3d  # noqa: F401
from vidgen.models.gan import mocogan  # noqa: F401
from vidgen.models.gan import styleganv  # noqa: F401
