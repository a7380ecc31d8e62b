"""GAN losses on hand-made logits (values and gradient signs), list outputs, R1 and WGAN-GP penalties."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from vidgen.models.gan.losses import LOSSES, class_accuracy, class_loss, d_loss, g_loss, gradient_penalty, mean_score, r1_penalty

REAL = torch.tensor([2.0, -1.0, 0.5])
FAKE = torch.tensor([0.5, -3.0, -0.25])
sig = torch.sigmoid

EXPECTED = {  # (discriminator, generator) written out from the papers' definitions
    "nonsaturating": (-torch.log(sig(REAL)).mean() - torch.log(1 - sig(FAKE)).mean(), -torch.log(sig(FAKE)).mean()),
    "lsgan": (0.5 * ((REAL - 1) ** 2).mean() + 0.5 * (FAKE ** 2).mean(), 0.5 * ((FAKE - 1) ** 2).mean()),
    "hinge": (torch.clamp(1 - REAL, min=0).mean() + torch.clamp(1 + FAKE, min=0).mean(), -FAKE.mean()),
    "wgan-gp": (FAKE.mean() - REAL.mean(), -FAKE.mean()),
}


@pytest.mark.parametrize("kind", sorted(LOSSES))
def test_loss_values(kind):
    d_fn, g_fn = LOSSES[kind]
    torch.testing.assert_close(d_fn(REAL, FAKE), EXPECTED[kind][0])
    torch.testing.assert_close(g_fn(FAKE), EXPECTED[kind][1])
    torch.testing.assert_close(d_loss(kind, REAL, FAKE), EXPECTED[kind][0])
    torch.testing.assert_close(g_loss(kind, FAKE), EXPECTED[kind][1])


@pytest.mark.parametrize("kind", sorted(LOSSES))
def test_gradient_signs(kind):
    # inside every margin (hinge: |logit| < 1) and between lsgan's targets 0 and 1
    real = torch.tensor([0.5, -0.2]).requires_grad_(True)
    fake = torch.tensor([0.2, 0.7]).requires_grad_(True)
    d_loss(kind, real, fake).backward()
    assert (real.grad < 0).all(), "D raises its logit on real clips"
    assert (fake.grad > 0).all(), "D lowers its logit on fakes"
    fake_g = fake.detach().requires_grad_(True)
    g_loss(kind, fake_g).backward()
    assert (fake_g.grad < 0).all(), "G raises D's logit on its fakes"


def test_hinge_stops_pushing_past_the_margin():
    real = torch.tensor([1.5]).requires_grad_(True)
    fake = torch.tensor([-1.5]).requires_grad_(True)
    loss = d_loss("hinge", real, fake)
    loss.backward()
    assert loss.item() == 0 and real.grad.item() == 0 and fake.grad.item() == 0


def test_list_outputs_are_summed_and_patch_logits_averaged():
    video_real, video_fake = REAL, FAKE
    image_real, image_fake = torch.randn(3, 5), torch.randn(3, 5)  # e.g. per-frame logits [B, T]
    for kind in LOSSES:
        d_fn, g_fn = LOSSES[kind]
        expected_d = d_fn(video_real, video_fake) + d_fn(image_real.flatten(), image_fake.flatten())
        torch.testing.assert_close(d_loss(kind, [video_real, image_real], [video_fake, image_fake]), expected_d)
        torch.testing.assert_close(g_loss(kind, [video_fake, image_fake]), g_fn(video_fake) + g_fn(image_fake))
    torch.testing.assert_close(mean_score([video_real, image_real]), (REAL.mean() + image_real.mean()) / 2)
    with pytest.raises(ValueError, match="outputs"):
        d_loss("hinge", [REAL, REAL], [FAKE])


class Linear(nn.Module):
    """A linear critic on flattened clips: its gradient is ``w`` everywhere."""

    def __init__(self, w: torch.Tensor):
        super().__init__()
        self.w = nn.Parameter(w)

    def forward(self, video: torch.Tensor, label=None) -> torch.Tensor:
        return video.flatten(1) @ self.w


def _clips(seed: int) -> torch.Tensor:
    return torch.randn(4, 2, 3, 4, 4, generator=torch.Generator().manual_seed(seed))  # [B, T, C, H, W]


def test_gradient_penalty_vanishes_for_a_1_lipschitz_linear_critic():
    w = torch.randn(2 * 3 * 4 * 4)
    real, fake, weight = _clips(0), _clips(1), torch.rand(4)
    unit = Linear(w / w.norm())
    assert gradient_penalty(unit, real, fake, weight).item() == pytest.approx(0.0, abs=1e-8)
    steep = Linear(3 * w / w.norm())  # gradient norm 3: penalty (3 - 1)^2
    penalty = gradient_penalty(steep, real, fake, weight)
    assert penalty.item() == pytest.approx(4.0, rel=1e-5)
    penalty.backward()  # differentiable in the critic's weights (double backward)
    assert steep.w.grad is not None and steep.w.grad.norm() > 0
    # one penalty per sub-discriminator, summed
    both = gradient_penalty(lambda x: [steep(x), unit(x)], real, fake, weight)
    assert both.item() == pytest.approx(4.0, rel=1e-5)


def test_gradient_penalty_is_positive_for_a_nonlinear_critic():
    torch.manual_seed(0)
    critic = nn.Sequential(nn.Flatten(), nn.Linear(96, 8), nn.Tanh(), nn.Linear(8, 1), nn.Flatten(0))
    assert gradient_penalty(critic, _clips(0), _clips(1), torch.rand(4)).item() > 0


def test_r1_penalty_is_the_squared_input_gradient():
    w = torch.randn(96)
    critic = Linear(w)
    torch.testing.assert_close(r1_penalty(critic, _clips(0)), w.square().sum())
    # per-frame logits [B, T] count as their per-clip mean; a list is summed
    per_frame = lambda x: x.flatten(2) @ w[:48]  # noqa: E731  [B, T]
    expected = w[:48].square().sum() / 2  # d mean_t / dx_t = w / T: T * |w / T|^2
    torch.testing.assert_close(r1_penalty(per_frame, _clips(0)), expected)
    torch.testing.assert_close(r1_penalty(lambda x: [critic(x), per_frame(x)], _clips(0)),
                               w.square().sum() + expected)


def test_class_loss_scores_every_row_against_its_clips_label():
    labels = torch.tensor([2, 0])
    clip = torch.tensor([[0.1, 0.2, 3.0], [1.0, -1.0, 0.0]])  # [B, K]
    frames = torch.randn(6, 3, generator=torch.Generator().manual_seed(0))  # [B * 3 frames, K], clip-major
    expected = (nn.functional.cross_entropy(clip, labels)
                + nn.functional.cross_entropy(frames, torch.tensor([2, 2, 2, 0, 0, 0])))
    torch.testing.assert_close(class_loss([clip, frames], labels), expected)
    assert class_accuracy([clip, frames], labels).item() == 1.0  # from the first output
    assert class_accuracy(clip, torch.tensor([0, 0])).item() == 0.5
    with pytest.raises(ValueError, match="multiple of the batch"):
        class_loss(torch.zeros(5, 3), labels)
