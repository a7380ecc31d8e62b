"""Predictor family: deterministic next-frame predictors, one architecture per file.

Every predictor is called the same way::

    pred = model(context, future=n, target=None, teacher_forcing=0.0, generator=None)
    # context [B, Tc, C, H, W] in [-1, 1] -> pred [B, n, C, H, W] in [-1, 1]

and exposes ``model.context`` / ``model.future`` (its training split), ``model.config`` and
``model.trainable`` (False for parameter-free baselines that the training loop must skip).
"""

from vidgen.models.predictor import convlstm, copy_last, predrnn  # noqa: F401
