"""Video super-resolution family: upscalers that use the neighbouring frames, one architecture per file.

- ``basicvsr``: BasicVSR-style bidirectional recurrent propagation with flow alignment (a
  SPyNet-style flow pyramid trained from scratch with it), x2 or x4, with ``alignment: none``
  and ``propagation: none`` ablation variants;
- ``degrade``: the BI, BD and realistic degradations that make the low-resolution inputs;
- ``training``: the Charbonnier objective, the flow network's photometric loss and the GAN
  variant's patch discriminator.

Loaded, an upscaler serves ``vidgen upscale RUN --input VIDEO --out OUT``, the post-processing
op ``upscale:RUN`` and ``vidgen eval RUN --metric vsr_psnr_y``.
"""

from vidgen.family import FamilySpec  # noqa: E402
from vidgen.models.vsr import basicvsr  # noqa: F401
from vidgen.models.vsr.training import VSRObjective  # noqa: E402
from vidgen.registry import FAMILIES  # noqa: E402

FAMILIES.register("vsr", config=VSRObjective)(FamilySpec(
    name="vsr",
    summary="video super-resolution: recurrent upscalers that use the neighbouring frames (x2, x4)",
    objective=VSRObjective,
    training="vidgen.models.vsr.training:VSRFamily",
    wrapper="vidgen.models.vsr.inference:VideoUpscaler",
))
