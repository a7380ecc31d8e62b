"""GAN family: one architecture per file, losses in ``losses.py``."""

from vidgen.models.gan import dcgan3d  # noqa: F401
from vidgen.models.gan import mocogan  # noqa: F401
from vidgen.models.gan import styleganv  # noqa: F401

from vidgen.family import FamilySpec  # noqa: E402
from vidgen.models.gan.training import MIGRATED, GANObjective, check  # noqa: E402
from vidgen.registry import FAMILIES  # noqa: E402

FAMILIES.register("gan", config=GANObjective)(FamilySpec(
    name="gan",
    summary="generative adversarial networks: a generator of clips from noise (and a class), trained against "
            "a discriminator",
    objective=GANObjective,
    training="vidgen.models.gan.training:GANFamily",
    wrapper="vidgen.models.gan.inference:VideoGenerator",
    export_modules=lambda model: {"generator": model.generator},  # the discriminator only trains
    check=check,
    migrate=MIGRATED,
))
