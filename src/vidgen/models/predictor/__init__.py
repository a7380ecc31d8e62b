"""Predictor family: deterministic next-frame predictors, one architecture per file.

Every predictor is built and called the same way::

    model = Model(config=cfg, frames=T, resolution=H, channels=C, num_classes=0)
    pred = model(context, future=n, target=None, teacher_forcing=0.0, generator=None)
    # context [B, Tc, C, H, W] in [-1, 1] -> pred [B, n, C, H, W] in [-1, 1]

``frames, resolution, channels`` are the training clip shape ``[T, C, H, W]`` (``H = W =
resolution``); ``T`` must be at least ``cfg.context + cfg.future``, and ``num_classes`` is
unused (kept for a constructor uniform across families). ``forward`` takes any context
length ``Tc >= 1`` and any ``future >= 1``; its arguments are documented once, in
:func:`vidgen.nn.recurrent.rollout`. A model exposes ``model.context`` / ``model.future``
(its training split), ``model.config`` and ``model.trainable`` (False for parameter-free
baselines that the training loop must skip).

``common`` holds the config and clip checks the architectures share; it registers nothing.
"""

from vidgen.models.predictor import convlstm, copy_last, predrnn, simvp  # noqa: F401

from vidgen.family import FamilySpec  # noqa: E402
from vidgen.models.predictor.training import MIGRATED, PredictorObjective, check  # noqa: E402
from vidgen.registry import FAMILIES  # noqa: E402

FAMILIES.register("predictor", config=PredictorObjective)(FamilySpec(
    name="predictor",
    summary="deterministic next-frame predictors: continue a clip",
    objective=PredictorObjective,
    training="vidgen.models.predictor.training:PredictorFamily",
    wrapper="vidgen.models.predictor.inference:VideoPredictor",
    check=check,
    migrate=MIGRATED,
))
