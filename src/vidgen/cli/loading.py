"""Loading a model for a command: the command says what it needs, the model's capabilities answer."""

from __future__ import annotations

from typing import Any

from vidgen.errors import VidgenError

# what each capability is called in an error, and the command that uses a model that has it
_WHAT = {
    "generate": "a model that makes clips from noise",
    "predict": "a frame predictor",
    "reconstruct": "an autoencoder (a clip VAE, frame_vae)",
    "interpolate": "a clip VAE",
}


def predictor_names() -> list[str]:
    """The registered models whose runs ``predict`` (for messages), known without building one: those
    whose model config holds the ``context`` and ``future`` split (every predictor, and svg)."""
    import dataclasses

    from vidgen.registry import MODELS

    return [e.name for e in MODELS
            if e.config is not None and {"context", "future"} <= {f.name for f in dataclasses.fields(e.config)}]


def suggest(checkpoint: str, capabilities: frozenset[str]) -> str:
    """A command line this model does answer (for hints)."""
    if "generate" in capabilities:
        return f"sample it with: vidgen sample {checkpoint} --out samples.mp4"
    if "predict" in capabilities:
        return f"continue clips with: vidgen predict {checkpoint} --input clip.mp4 --out pred.mp4"
    if "reconstruct" in capabilities:
        return f"vidgen reconstruct {checkpoint} --input clip.mp4 --out recon.mp4"
    if "upscale" in capabilities:
        return f"upscale a video with: vidgen upscale {checkpoint} --input clip.mp4 --out big.mp4"
    if "restore" in capabilities:
        return f"use it as a post-processing op: vidgen post clip.mp4 --ops OP --out out.mp4 OP.model={checkpoint}"
    return f"see what it is with: python -c \"import vidgen; print(vidgen.load('{checkpoint}'))\""


def load_for(checkpoint: str, capability: str, *, device: str, command: str, needs: str = "") -> Any:
    """``vidgen.load(checkpoint)``, refusing a model without ``capability`` with a clear error."""
    import vidgen

    model = vidgen.load(checkpoint, device=device)
    caps = model.capabilities
    if capability in caps:
        return model
    name = model.meta["model"]["name"]
    if capability == "generate" and "predict" in caps:
        raise VidgenError(f"{checkpoint} holds a next-frame predictor ({name}): it continues clips and samples none",
                          hint=f"vidgen predict {checkpoint} --input clip.mp4 --out pred.mp4")
    raise VidgenError(f"{checkpoint} holds a {model.family.name} model ({name}), not {_WHAT.get(capability, capability)}; "
                      f"{command} needs {needs or 'one'}", hint=suggest(checkpoint, caps))
