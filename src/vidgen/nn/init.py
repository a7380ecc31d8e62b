"""Weight initialisations shared by architectures."""

from __future__ import annotations

from torch import nn


def dcgan_init(module: nn.Module, *, linear: bool = True) -> None:
    """DCGAN initialisation (Radford et al.), for ``net.apply(dcgan_init)``.

    Convolutions (and linear layers unless ``linear=False``): weights N(0, 0.02), biases 0;
    BatchNorm: scales N(1, 0.02), shifts 0. Other modules are left as PyTorch made them.
    """
    if isinstance(module, nn.modules.conv._ConvNd) or (linear and isinstance(module, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.modules.batchnorm._BatchNorm) and module.affine:
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
