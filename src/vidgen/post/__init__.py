"""Post-processing: the last stage of ``input -> pre-processing -> model -> post-processing``.

Operators (:mod:`~vidgen.post.ops`, registered in ``vidgen.registry.POST_OPS``): ``denoise``
(multi-frame non-local means, strength estimated from the noise), ``deflicker`` (per-frame
colour gains following their temporal smoothing), ``sharpen`` (unsharp mask), ``interpolate``
(DIS flow, bidirectional warping with occlusion-aware blending), ``upscale`` (Lanczos,
bicubic); ``denoise``, ``deflicker`` and ``interpolate`` also run trained networks
(``OP.model=RUN``). Chains of them: :func:`~vidgen.post.chain.post_process`, ``vidgen post``;
long videos: :func:`~vidgen.post.chain.stream_chain`.
"""

from vidgen.post import ops as _ops  # noqa: F401  (registers the operators)
from vidgen.post.chain import apply_chain, parse_chain, post_process, stream_chain  # noqa: F401
