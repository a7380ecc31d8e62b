"""The built-in synthetic sets: shapes and bouncing balls."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from vidgen.config import from_dict
from vidgen.data.synthetic import (
    DIRECTIONS,
    BouncingBallsConfig,
    BouncingBallsDataset,
    ShapesConfig,
    ShapesDataset,
    simulate_balls,
)
from vidgen.data.transforms import TransformConfig
from vidgen.errors import ConfigError
from vidgen.registry import DATASETS

SIZES = [(32, 8), (64, 16), (48, 5)]  # (resolution, frames), one not a power of two


def make(cls, **kw):
    cfg_cls = ShapesConfig if cls is ShapesDataset else BouncingBallsConfig
    return cls(cfg_cls(**kw))


def test_registered():
    assert DATASETS.get("shapes").obj is ShapesDataset
    assert DATASETS.get("shapes").config is ShapesConfig
    assert DATASETS.get("bouncing_balls").obj is BouncingBallsDataset
    assert DATASETS.get("bouncing_balls").config is BouncingBallsConfig


@pytest.mark.parametrize("cls", [ShapesDataset, BouncingBallsDataset])
@pytest.mark.parametrize("res,frames", SIZES)
def test_item_shape_dtype_range(cls, res, frames):
    ds = make(cls, resolution=res, frames=frames, num_clips=7)
    assert len(ds) == 7 and ds.channels == 3
    for i in (0, 6):
        item = ds[i]
        v = item["video"]
        assert v.shape == (frames, 3, res, res) and v.dtype == torch.float32
        assert v.min() >= -1.0 and v.max() <= 1.0
        assert v.min() == -1.0 and v.max() > 0.0  # black background, bright foreground
        assert 0 <= item["label"] < ds.num_classes
        assert isinstance(item["caption"], str) and item["caption"]
    with pytest.raises(IndexError):
        ds[7]


@pytest.mark.parametrize("cls", [ShapesDataset, BouncingBallsDataset])
def test_deterministic_per_seed_and_index(cls):
    a = make(cls, frames=6, resolution=32, seed=3)
    b = make(cls, frames=6, resolution=32, seed=3)
    x = a[5]["video"]
    assert torch.equal(x, a[5]["video"]) and torch.equal(x, b[5]["video"])
    a.set_epoch(9)  # the epoch drives augmentation only, never the content
    assert torch.equal(x, a[5]["video"])
    assert not torch.equal(x, make(cls, frames=6, resolution=32, seed=4)[5]["video"])
    assert not torch.equal(x, a[6]["video"])


@pytest.mark.parametrize("cls", [ShapesDataset, BouncingBallsDataset])
def test_shorter_clip_is_prefix_and_content_moves(cls):
    short = make(cls, frames=6, resolution=32)[2]["video"]
    long = make(cls, frames=12, resolution=32)[2]["video"]
    assert torch.equal(short, long[:6])
    assert (long[0] - long[-1]).abs().max() > 0.5
    assert all((long[t] - long[t + 1]).abs().sum() > 0 for t in range(11))


def test_temporal_stride_loads_more_frames():
    cfg = ShapesConfig(frames=4, resolution=32, transforms=TransformConfig(temporal_stride=3))
    ds = ShapesDataset(cfg)
    assert ds.raw_frames == 12
    assert len(ds.tracks(0)[0].center) == 12
    full = ShapesDataset(ShapesConfig(frames=12, resolution=32))[0]["video"]
    assert torch.equal(ds[0]["video"], full[::3])


# ------------------------------------------------------------------------------ shapes


def test_shape_label_matches_caption():
    ds = ShapesDataset(ShapesConfig(frames=4, resolution=32, kinds=("circle", "square", "triangle", "star")))
    seen = set()
    for i in range(40):
        item = ds[i]
        name = ds.class_names[item["label"]]
        assert item["caption"].split(" moving ")[0].endswith(" " + name)
        seen.add(name)
    assert seen == {"circle", "square", "triangle", "star"}


def test_shape_direction_label():
    ds = ShapesDataset(ShapesConfig(frames=4, resolution=32, num_shapes=2, label="shape_direction"))
    assert ds.num_classes == 3 * 4 and ds.class_names[:4] == [f"circle_{d}" for d in DIRECTIONS]
    for i in range(30):
        item = ds[i]
        kind, direction = ds.class_names[item["label"]].split("_")
        first = item["caption"].split(" and ")[0]
        assert first.endswith(f" {kind} moving {direction}")
        v = ds.tracks(i)[0].velocity[0]
        expect = ("right" if v[0] > 0 else "left") if abs(v[0]) >= abs(v[1]) else ("down" if v[1] > 0 else "up")
        assert direction == expect


def test_caption_names_every_shape_with_distinct_colours():
    ds = ShapesDataset(ShapesConfig(frames=2, resolution=32, num_shapes=3))
    for i in range(10):
        tracks = ds.tracks(i)
        caption = ds[i]["caption"]
        assert caption.count(" and ") == 2
        assert len({t.color for t in tracks}) == 3
        for t in tracks:
            assert f"{t.color} {t.kind} moving {t.direction}" in caption


KINDS = ("circle", "square", "triangle", "star", "hexagon")


@pytest.mark.parametrize("res", [32, 48, 64])
def test_spinning_growing_shapes_stay_inside(res):
    cfg = ShapesConfig(frames=60, resolution=res, num_shapes=2, rotation=8.0, scale_change=0.3, kinds=KINDS, max_speed=0.08)
    ds = ShapesDataset(cfg)
    for i in range(6):
        for tr in ds.tracks(i):
            assert (tr.box[:, :2] >= -1e-9).all() and (tr.box[:, 2:] <= res + 1e-9).all()
            assert np.allclose(np.linalg.norm(tr.velocity, axis=1), np.linalg.norm(tr.velocity[0]))


def test_shapes_bounce_off_the_walls():
    res = 48
    ds = ShapesDataset(ShapesConfig(frames=60, resolution=res, num_shapes=2, kinds=KINDS, max_speed=0.08))
    bounces = 0
    for i in range(6):
        for tr in ds.tracks(i):
            for ax in range(2):
                v = tr.velocity[:, ax]
                flips = np.nonzero(np.sign(v[1:]) != np.sign(v[:-1]))[0] + 1
                for t in flips:  # a velocity flips only at a wall, at most one step away from it
                    gap = min(tr.box[t, ax], res - tr.box[t, ax + 2])
                    assert gap <= abs(v[t]) + 1e-9
                    assert abs(v[t]) == abs(v[t - 1])  # bounces are elastic
                bounces += len(flips)
            # between bounces the path is a straight line at constant velocity
            steps = np.diff(tr.center, axis=0)
            straight = np.all(np.sign(tr.velocity[1:]) == np.sign(tr.velocity[:-1]), axis=1)
            np.testing.assert_allclose(steps[straight], tr.velocity[1:][straight], atol=1e-9)
    assert bounces > 0


def test_rendered_shape_never_leaves_the_frame():
    # One rigid shape: its drawn pixel mass would drop if part of it were cut off at a
    # border (the supersampled anti-aliasing itself keeps it steady to ~3%).
    ds = ShapesDataset(ShapesConfig(frames=48, resolution=64, max_speed=0.1, num_clips=10, kinds=KINDS))
    for i in range(10):
        clip, _, _ = ds.load_clip(i, np.random.default_rng(0))
        mass = clip.astype(np.float64).sum(axis=(1, 2, 3))
        assert mass.min() > 0.95 * mass.max(), (i, ds.tracks(i)[0].kind)


def test_rotation_and_scale_change_animate():
    ds = ShapesDataset(ShapesConfig(frames=20, resolution=32, rotation=5.0, scale_change=0.2, kinds=("square",)))
    tr = ds.tracks(0)[0]
    assert np.ptp(tr.angle) > 0 and np.ptp(tr.scale) > 0.05
    assert tr.scale.min() >= 0.8 - 1e-9 and tr.scale.max() <= 1.2 + 1e-9
    still = ShapesDataset(ShapesConfig(frames=20, resolution=32, kinds=("square",))).tracks(0)[0]
    assert np.all(still.angle == 0) and np.all(still.scale == 1)
    # toggling the options keeps the rest of the clip: same kind, colour and start
    assert (still.kind, still.color, still.size) == (tr.kind, tr.color, tr.size)


# ------------------------------------------------------------------------------- balls


def test_simulated_balls_stay_inside_and_conserve_energy():
    rng = np.random.default_rng(0)
    radii = np.array([4.0, 6.0, 5.0, 3.0])
    pos = np.array([[10.0, 10.0], [40.0, 20.0], [20.0, 45.0], [50.0, 50.0]])
    vel = rng.normal(size=(4, 2)) * 2.5
    p, v = simulate_balls(pos, vel, radii, size=64.0, frames=300, substeps=4)
    assert p.shape == v.shape == (300, 4, 2)
    assert (p - radii[None, :, None] >= -1e-9).all() and (p + radii[None, :, None] <= 64 + 1e-9).all()
    mass = radii**2
    energy = (mass * (v**2).sum(-1)).sum(-1)
    np.testing.assert_allclose(energy, energy[0], rtol=1e-9)
    for a, b in itertools.combinations(range(4), 2):
        assert (np.linalg.norm(p[:, a] - p[:, b], axis=-1) >= radii[a] + radii[b] - 0.5).all()
    assert np.any(np.sign(v[1:, :, 0]) != np.sign(v[:-1, :, 0]))  # some ball turned


def test_wall_bounce_flips_velocity():
    p, v = simulate_balls([[10.0, 16.0]], [[3.0, 0.0]], [4.0], size=32.0, frames=12)
    assert v[0, 0, 0] == 3.0 and v[-1, 0, 0] == -3.0 and np.all(v[:, 0, 1] == 0)
    assert p[:, 0, 0].max() <= 28.0 + 1e-9


def test_equal_masses_swap_velocities_head_on():
    p, v = simulate_balls([[20.0, 32.0], [44.0, 32.0]], [[2.0, 0.0], [-1.0, 0.0]], [5.0, 5.0], size=64.0, frames=8)
    np.testing.assert_allclose(v[-1], [[-1.0, 0.0], [2.0, 0.0]], atol=1e-12)


def test_unequal_masses_follow_elastic_collision_formulas():
    r1, r2 = 4.0, 8.0
    m1, m2 = r1**2, r2**2
    u1, u2 = 2.0, -0.5
    p, v = simulate_balls([[30.0, 50.0], [50.0, 50.0]], [[u1, 0.0], [u2, 0.0]], [r1, r2], size=100.0, frames=6)
    expect1 = ((m1 - m2) * u1 + 2 * m2 * u2) / (m1 + m2)
    expect2 = ((m2 - m1) * u2 + 2 * m1 * u1) / (m1 + m2)
    np.testing.assert_allclose(v[-1, :, 0], [expect1, expect2], atol=1e-12)
    np.testing.assert_allclose((m1 * v[-1, 0] + m2 * v[-1, 1]), [m1 * u1 + m2 * u2, 0.0], atol=1e-12)


def test_oblique_collision_exchanges_momentum_along_the_line_of_centres():
    # Ball 2 sits at rest below-right of ball 1's path: after the hit it moves along the
    # line of centres and the two velocities are at right angles (equal masses).
    p, v = simulate_balls([[20.0, 50.0], [40.0, 53.0]], [[2.0, 0.0], [0.0, 0.0]], [4.0, 4.0], size=100.0, frames=12)
    hit = np.nonzero(np.abs(v[:, 1]).sum(-1) > 0)[0][0]
    d = p[hit, 1] - p[hit, 0]
    assert abs(float(v[hit, 0] @ v[hit, 1])) < 1e-9
    assert abs(d[0] * v[hit, 1, 1] - d[1] * v[hit, 1, 0]) < 0.3 * np.linalg.norm(d) * np.linalg.norm(v[hit, 1])


@pytest.mark.parametrize("num_balls,max_radius", [(3, 0.1), (9, 0.16)])
def test_ball_clips_start_apart_and_stay_inside(num_balls, max_radius):
    cfg = BouncingBallsConfig(frames=40, resolution=48, num_balls=num_balls, min_radius=0.06, max_radius=max_radius)
    ds = BouncingBallsDataset(cfg)
    for i in range(5):
        s = ds.simulate(i)
        p, r = s["positions"], s["radii"]
        assert p.shape == (40, num_balls, 2) and len(s["colors"]) == num_balls
        assert (p - r[None, :, None] >= -1e-9).all() and (p + r[None, :, None] <= 48 + 1e-9).all()
        for a, b in itertools.combinations(range(num_balls), 2):
            assert np.linalg.norm(p[0, a] - p[0, b]) > r[a] + r[b]  # placed without overlap
            assert (np.linalg.norm(p[:, a] - p[:, b], axis=-1) > r[a] + r[b] - 1.0).all()
    item = ds[0]
    assert item["label"] == 0 and item["caption"] == f"{num_balls} bouncing balls"
    assert ds.class_names == ["balls"]


# ------------------------------------------------------------------------------ config


@pytest.mark.parametrize(
    "kw,needle",
    [
        ({"num_shapes": 0}, "num_shapes"),
        ({"num_clips": 0}, "num_clips"),
        ({"kinds": ("circle", "blob")}, "blob"),
        ({"kinds": ()}, "kinds"),
        ({"colors": ("red", "puce")}, "puce"),
        ({"min_size": 0.3, "max_size": 0.2}, "max_size"),
        ({"max_size": 0.8}, "max_size"),
        ({"min_speed": -0.1}, "min_speed"),
        ({"rotation": -1.0}, "rotation"),
        ({"scale_change": 0.9}, "scale_change"),
        ({"frames": 0}, "frames"),
    ],
)
def test_bad_shapes_config(kw, needle):
    with pytest.raises(ConfigError, match=needle):
        ShapesConfig(**kw)


@pytest.mark.parametrize(
    "kw,needle",
    [
        ({"num_balls": 0}, "num_balls"),
        ({"num_balls": 4, "max_radius": 0.3}, "num_balls"),
        ({"min_radius": 0.0}, "min_radius"),
        ({"substeps": 0}, "substeps"),
        ({"colors": ()}, "colors"),
    ],
)
def test_bad_balls_config(kw, needle):
    with pytest.raises(ConfigError, match=needle):
        BouncingBallsConfig(**kw)


def test_from_dict_is_strict():
    with pytest.raises(ConfigError, match="num_shapes"):
        from_dict(ShapesConfig, {"num_shape": 2})
    with pytest.raises(ConfigError, match="num_balls"):
        from_dict(BouncingBallsConfig, {"num_ball": 2})
    with pytest.raises(ConfigError, match="shape_direction"):
        from_dict(ShapesConfig, {"label": "direction"})
    with pytest.raises(ConfigError, match="blob"):
        from_dict(ShapesConfig, {"kinds": ["blob"]})
    cfg = from_dict(ShapesConfig, {"kinds": ["star", "hexagon"], "rotation": 3, "transforms": {"hflip": 0.5}})
    assert cfg.kinds == ("star", "hexagon") and cfg.rotation == 3.0 and cfg.transforms.hflip == 0.5
