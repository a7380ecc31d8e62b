"""Built-in synthetic sets that need no download: moving shapes and bouncing balls.

Both are rendered on the fly with OpenCV (anti-aliased, sub-pixel positions), so clips
are cheap, any resolution and any length. Clip ``i`` is a deterministic function of
``(config.seed, i)`` alone: the epoch and the augmentation RNG never change its content,
and a shorter clip is a prefix of a longer one with the same seed.

- ``shapes``: coloured circles, squares, triangles... moving at constant velocity and
  bouncing off the borders; labelled by kind (or kind and direction).
- ``bouncing_balls``: balls with elastic collisions between themselves and the walls.

Clips leave :meth:`load_clip` as uint8 ``[T, H, W, 3]`` RGB on a black background.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import cv2
import numpy as np

from vidgen.data.base import ClipDataset, DataConfig
from vidgen.errors import ConfigError
from vidgen.registry import DATASETS

# Named RGB colours that read well on black and are easy to name in captions.
PALETTE: dict[str, tuple[int, int, int]] = {
    "red": (230, 40, 40),
    "green": (40, 200, 60),
    "blue": (50, 90, 240),
    "yellow": (240, 220, 40),
    "cyan": (40, 220, 230),
    "magenta": (220, 50, 220),
    "white": (245, 245, 245),
    "orange": (250, 140, 20),
}

DIRECTIONS = ("left", "right", "up", "down")

_SHIFT = 4  # OpenCV fixed-point bits: coordinates are drawn at 1/16 pixel
_ONE = 1 << _SHIFT


def _regular_polygon(n: int, radius: float, start_deg: float) -> np.ndarray:
    a = np.deg2rad(start_deg + 360.0 * np.arange(n) / n)
    return np.stack([radius * np.cos(a), radius * np.sin(a)], axis=1)


def _star(points: int, outer: float, inner: float) -> np.ndarray:
    a = np.deg2rad(-90.0 + 180.0 * np.arange(2 * points) / points)
    r = np.where(np.arange(2 * points) % 2 == 0, outer, inner)
    return np.stack([r * np.cos(a), r * np.sin(a)], axis=1)


# Outlines for size 1 around the centre, y pointing down (image rows). The triangle is a
# bit larger than side 1 so that its area does not look tiny next to the square.
_POLYGONS: dict[str, np.ndarray] = {
    "square": np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]]),
    "triangle": _regular_polygon(3, 0.62, -90.0),  # apex up
    "star": _star(5, 0.6, 0.25),
    "hexagon": _regular_polygon(6, 0.5, 0.0),
}
SHAPE_KINDS = ("circle", "square", "triangle", "star", "hexagon")


def _circumradius(kind: str) -> float:
    """Radius of the circle around a size-1 shape: its reach whatever the rotation."""
    if kind == "circle":
        return 0.5
    return float(np.linalg.norm(_POLYGONS[kind], axis=1).max())


def _to_fixed(x: float, k: int) -> int:
    # Pixel i covers [i, i + 1) in the continuous coordinates used by the simulations;
    # OpenCV puts pixel centres on integers, hence the half-pixel offset (on the k-times
    # supersampled canvas).
    return int(round((x * k - 0.5) * _ONE))


def _supersampling(resolution: int) -> int:
    """Drawing scale: OpenCV's anti-aliased fills are off by up to half a pixel at the
    edges, so a 5-pixel shape flickers in area by ~15% as it moves; drawing k times larger
    and averaging down (INTER_AREA) brings that to ~3% for the default sizes at 64 px.
    k falls as the resolution grows, where shapes are large and the edge error small."""
    return max(1, min(4, math.ceil(256 / resolution)))


def _draw_circle(canvas: np.ndarray, center: np.ndarray, radius: float, color: tuple[int, int, int], k: int) -> None:
    c = (_to_fixed(center[0], k), _to_fixed(center[1], k))
    cv2.circle(canvas, c, max(1, int(round(radius * k * _ONE))), color, -1, cv2.LINE_AA, _SHIFT)


def _downsample(canvas: np.ndarray, resolution: int) -> np.ndarray:
    if canvas.shape[0] == resolution:
        return canvas
    return cv2.resize(canvas, (resolution, resolution), interpolation=cv2.INTER_AREA)


def _check_colors(colors: tuple[str, ...], where: str) -> None:
    if not colors:
        raise ConfigError(f"data.{where} is empty", hint=f"pick from: {', '.join(PALETTE)}")
    for c in colors:
        if c not in PALETTE:
            raise ConfigError(f"data.{where}: unknown colour {c!r}", hint=f"valid colours: {', '.join(PALETTE)}")


def _check_range(lo: float, hi: float, lo_name: str, hi_name: str, zero_ok: bool = False) -> None:
    if lo < 0 or (lo == 0 and not zero_ok):
        raise ConfigError(f"data.{lo_name} must be {'>=' if zero_ok else '>'} 0, got {lo}")
    if hi < lo:
        raise ConfigError(f"data.{hi_name} ({hi}) must be >= data.{lo_name} ({lo})")


# ------------------------------------------------------------------------------ shapes


@dataclass
class ShapesConfig(DataConfig):
    """Coloured shapes moving at constant velocity and bouncing off the borders."""

    num_clips: int = 10000  # dataset length (clips are generated, so any number works)
    num_shapes: int = 1  # shapes per clip; the first one gives the label
    kinds: tuple[str, ...] = ("circle", "square", "triangle")  # from circle, square, triangle, star, hexagon
    colors: tuple[str, ...] = tuple(PALETTE)  # palette names; distinct within a clip while they last
    min_size: float = 0.15  # shape size as a fraction of the resolution
    max_size: float = 0.3
    min_speed: float = 0.02  # pixels per frame as a fraction of the resolution
    max_speed: float = 0.05
    rotation: float = 0.0  # max spin in degrees per frame (0: upright, no rotation)
    scale_change: float = 0.0  # amplitude of a slow size oscillation, fraction of the size (0: none)
    label: Literal["shape", "shape_direction"] = "shape"  # kind, or kind x initial direction

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.num_clips < 1:
            raise ConfigError(f"data.num_clips must be >= 1, got {self.num_clips}")
        if self.num_shapes < 1:
            raise ConfigError(f"data.num_shapes must be >= 1, got {self.num_shapes}")
        if not self.kinds:
            raise ConfigError("data.kinds is empty", hint=f"pick from: {', '.join(SHAPE_KINDS)}")
        for k in self.kinds:
            if k not in SHAPE_KINDS:
                raise ConfigError(f"data.kinds: unknown shape {k!r}", hint=f"valid shapes: {', '.join(SHAPE_KINDS)}")
        if len(set(self.kinds)) != len(self.kinds):
            raise ConfigError(f"data.kinds lists a shape twice: {list(self.kinds)}")
        _check_colors(self.colors, "colors")
        _check_range(self.min_size, self.max_size, "min_size", "max_size")
        _check_range(self.min_speed, self.max_speed, "min_speed", "max_speed", zero_ok=True)
        if self.rotation < 0:
            raise ConfigError(f"data.rotation must be >= 0 degrees per frame, got {self.rotation}")
        if not 0.0 <= self.scale_change <= 0.5:
            raise ConfigError(f"data.scale_change must be in [0, 0.5], got {self.scale_change}")
        # The largest shape at its largest must fit in the frame whatever its rotation.
        widest = 2 * max(_circumradius(k) for k in self.kinds)
        if widest * self.max_size * (1 + self.scale_change) > 0.95:
            raise ConfigError(
                f"data.max_size={self.max_size} is too large: the shapes would not fit in the frame",
                hint=f"keep max_size * (1 + scale_change) <= {0.95 / widest:.2f} for these kinds",
            )


@dataclass
class ShapeTrack:
    """The simulated path of one shape over a clip (continuous pixel coordinates, frame
    spans ``[0, resolution]``, y down).

    ``center``/``velocity``: ``[T, 2]`` (x, y); ``angle`` (degrees) and ``scale``: ``[T]``;
    ``box``: ``[T, 4]`` bounding box (x0, y0, x1, y1) of the drawn outline.
    """

    kind: str
    color: str
    size: float  # pixels, before ``scale``
    direction: str  # dominant axis of the initial velocity
    center: np.ndarray
    velocity: np.ndarray
    angle: np.ndarray
    scale: np.ndarray
    box: np.ndarray


def _outline(kind: str, size: float, angle_deg: float, scale: float) -> np.ndarray:
    """``[V, 2]`` vertices around the centre (for a circle, its 4 extreme points)."""
    if kind == "circle":
        r = 0.5 * size * scale
        return np.array([[-r, 0.0], [r, 0.0], [0.0, -r], [0.0, r]])
    a = math.radians(angle_deg)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    return _POLYGONS[kind] @ rot.T * (size * scale)


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _direction(v: np.ndarray) -> str:
    if abs(v[0]) >= abs(v[1]):
        return "right" if v[0] > 0 else "left"
    return "down" if v[1] > 0 else "up"


def _draw_shape(
    canvas: np.ndarray, kind: str, center: np.ndarray, outline: np.ndarray, color: tuple[int, int, int], k: int
) -> None:
    if kind == "circle":
        _draw_circle(canvas, center, outline[1, 0], color, k)
        return
    pts = np.round(((outline + center) * k - 0.5) * _ONE).astype(np.int32)
    cv2.fillPoly(canvas, [pts], color, cv2.LINE_AA, _SHIFT)


@DATASETS.register("shapes", config=ShapesConfig)
class ShapesDataset(ClipDataset):
    """Coloured shapes bouncing around a black frame.

    Items: ``video`` float ``[T, 3, H, W]`` in ``[-1, 1]``, ``label`` the kind of the first
    shape (``label="shape"``) or ``kind * 4 + direction`` with directions left, right, up,
    down (``label="shape_direction"``), ``caption`` like ``"a red circle moving left"``.
    """

    channels = 3

    def __init__(self, config: ShapesConfig):
        super().__init__(config)
        self.config: ShapesConfig = config
        if config.label == "shape":
            self.class_names = list(config.kinds)
        else:
            self.class_names = [f"{k}_{d}" for k in config.kinds for d in DIRECTIONS]

    def __len__(self) -> int:
        return self.config.num_clips

    def tracks(self, index: int) -> list[ShapeTrack]:
        """Simulate the shapes of clip ``index`` over ``raw_frames`` frames."""
        cfg = self.config
        rng = np.random.default_rng([cfg.seed, index])
        res = float(cfg.resolution)
        frames = self.raw_frames
        color_order = rng.permutation(len(cfg.colors))
        out = []
        for s in range(cfg.num_shapes):
            # Every parameter is drawn whatever the options, so that toggling rotation or
            # scale_change keeps the rest of the clip (kinds, colours, paths) the same.
            kind = cfg.kinds[int(rng.integers(len(cfg.kinds)))]
            color = cfg.colors[int(color_order[s % len(cfg.colors)])]
            size = float(rng.uniform(cfg.min_size, cfg.max_size)) * res
            angle0, spin = float(rng.uniform(0.0, 360.0)), float(rng.uniform(-1.0, 1.0)) * cfg.rotation
            phase, period = float(rng.uniform(0.0, 2 * math.pi)), float(rng.uniform(16.0, 48.0))
            speed = float(rng.uniform(cfg.min_speed, cfg.max_speed)) * res
            theta = float(rng.uniform(0.0, 2 * math.pi))
            reach = _circumradius(kind) * size * (1 + cfg.scale_change)
            pos = rng.uniform(reach, res - reach, size=2)
            vel = speed * np.array([math.cos(theta), math.sin(theta)])
            if cfg.rotation == 0:
                angle0 = 0.0
            direction = _direction(vel)

            center = np.empty((frames, 2))
            velocity = np.empty((frames, 2))
            angle = angle0 + spin * np.arange(frames)
            scale = 1.0 + cfg.scale_change * np.sin(phase + 2 * math.pi * np.arange(frames) / period)
            box = np.empty((frames, 4))
            for t in range(frames):
                outline = _outline(kind, size, angle[t], scale[t])
                lo = -outline.min(axis=0)
                hi = res - outline.max(axis=0)
                if t > 0:
                    pos = pos + vel
                # Mirror the overshoot so a bounce loses no distance; a shape that grew or
                # turned into a wall is pushed back inside and sent away from it.
                for ax in range(2):
                    if pos[ax] < lo[ax]:
                        pos[ax] = 2 * lo[ax] - pos[ax]
                        vel[ax] = abs(vel[ax])
                    elif pos[ax] > hi[ax]:
                        pos[ax] = 2 * hi[ax] - pos[ax]
                        vel[ax] = -abs(vel[ax])
                pos = np.clip(pos, lo, hi)
                center[t], velocity[t] = pos, vel
                box[t] = (*(pos + outline.min(axis=0)), *(pos + outline.max(axis=0)))
            out.append(ShapeTrack(kind, color, size, direction, center, velocity, angle, scale, box))
        return out

    def render(self, tracks: list[ShapeTrack]) -> np.ndarray:
        """Draw ``tracks`` into uint8 ``[T, H, W, 3]`` RGB; later shapes cover earlier ones."""
        res = self.config.resolution
        k = _supersampling(res)
        frames = len(tracks[0].center)
        clip = np.empty((frames, res, res, 3), dtype=np.uint8)
        canvas = np.empty((res * k, res * k, 3), dtype=np.uint8)
        for t in range(frames):
            canvas.fill(0)
            for tr in tracks:
                outline = _outline(tr.kind, tr.size, tr.angle[t], tr.scale[t])
                _draw_shape(canvas, tr.kind, tr.center[t], outline, PALETTE[tr.color], k)
            clip[t] = _downsample(canvas, res)
        return clip

    def load_clip(self, index: int, rng: np.random.Generator) -> tuple[np.ndarray, int, str]:
        tracks = self.tracks(index)
        first = tracks[0]
        label = self.config.kinds.index(first.kind)
        if self.config.label == "shape_direction":
            label = label * len(DIRECTIONS) + DIRECTIONS.index(first.direction)
        caption = " and ".join(f"{_article(t.color)} {t.color} {t.kind} moving {t.direction}" for t in tracks)
        return self.render(tracks), label, caption

    def info(self) -> dict[str, Any]:
        out = super().info()
        out.update(shapes_per_clip=self.config.num_shapes, kinds=list(self.config.kinds), label=self.config.label)
        return out


# ------------------------------------------------------------------------------ balls


@dataclass
class BouncingBallsConfig(DataConfig):
    """Balls with elastic collisions between themselves and with the walls."""

    num_clips: int = 10000  # dataset length
    num_balls: int = 3  # balls per clip
    min_radius: float = 0.06  # ball radius as a fraction of the resolution
    max_radius: float = 0.1
    min_speed: float = 0.02  # pixels per frame as a fraction of the resolution
    max_speed: float = 0.05
    substeps: int = 4  # simulation steps per frame (collisions are resolved at each)
    colors: tuple[str, ...] = tuple(PALETTE)  # palette names; distinct within a clip while they last

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.num_clips < 1:
            raise ConfigError(f"data.num_clips must be >= 1, got {self.num_clips}")
        if self.num_balls < 1:
            raise ConfigError(f"data.num_balls must be >= 1, got {self.num_balls}")
        _check_range(self.min_radius, self.max_radius, "min_radius", "max_radius")
        _check_range(self.min_speed, self.max_speed, "min_speed", "max_speed", zero_ok=True)
        if self.substeps < 1:
            raise ConfigError(f"data.substeps must be >= 1, got {self.substeps}")
        _check_colors(self.colors, "colors")
        # A jittered grid of ceil(sqrt(n))^2 cells is the fallback placement: guarantee it fits.
        cells = math.ceil(math.sqrt(self.num_balls))
        if 2 * self.max_radius * cells > 1.0:
            raise ConfigError(
                f"data.num_balls={self.num_balls} balls of radius up to {self.max_radius} do not fit in the frame",
                hint=f"keep max_radius <= {0.5 / cells:.3f} or use fewer balls",
            )


def simulate_balls(
    pos: np.ndarray, vel: np.ndarray, radii: np.ndarray, *, size: float, frames: int, substeps: int = 4
) -> tuple[np.ndarray, np.ndarray]:
    """Elastic balls in the box ``[0, size]^2``.

    Args:
        pos: ``[N, 2]`` initial centres (x, y), each ball fully inside the box.
        vel: ``[N, 2]`` initial velocities in pixels per frame.
        radii: ``[N]`` radii; masses are proportional to ``radius**2``.
        frames: number of frames to return (frame 0 is the initial state).
        substeps: steps per frame; collisions are detected and resolved at each.

    Returns:
        ``(positions [frames, N, 2], velocities [frames, N, 2])``. Walls reflect the
        velocity; ball pairs exchange momentum along the line of centres, so momentum (away
        from walls) and kinetic energy are conserved exactly.
    """
    pos = np.array(pos, dtype=np.float64)
    vel = np.array(vel, dtype=np.float64)
    radii = np.asarray(radii, dtype=np.float64)
    mass = radii**2
    n = len(radii)
    lo, hi = radii[:, None], size - radii[:, None]  # [N, 1]
    dt = 1.0 / substeps
    out_pos = np.empty((frames, n, 2))
    out_vel = np.empty((frames, n, 2))
    out_pos[0], out_vel[0] = pos, vel
    for t in range(1, frames):
        for _ in range(substeps):
            pos += vel * dt
            below, above = pos < lo, pos > hi
            pos = np.where(below, 2 * lo - pos, np.where(above, 2 * hi - pos, pos))
            vel = np.where(below, np.abs(vel), np.where(above, -np.abs(vel), vel))
            for i in range(n):
                for j in range(i + 1, n):
                    d = pos[j] - pos[i]
                    dist = math.hypot(d[0], d[1])
                    overlap = radii[i] + radii[j] - dist
                    if overlap <= 0:
                        continue
                    normal = d / dist if dist > 1e-9 else np.array([1.0, 0.0])
                    mi, mj = mass[i], mass[j]
                    approach = float((vel[i] - vel[j]) @ normal)
                    if approach > 0:  # only if closing in: separating pairs are left alone
                        vel[i] = vel[i] - (2 * mj / (mi + mj)) * approach * normal
                        vel[j] = vel[j] + (2 * mi / (mi + mj)) * approach * normal
                    # Push apart in inverse proportion to mass so sub-step overlaps never stick.
                    pos[i] = pos[i] - normal * overlap * mj / (mi + mj)
                    pos[j] = pos[j] + normal * overlap * mi / (mi + mj)
            pos = np.clip(pos, lo, hi)
        out_pos[t], out_vel[t] = pos, vel
    return out_pos, out_vel


def _place_balls(radii: np.ndarray, size: float, rng: np.random.Generator) -> np.ndarray:
    """Non-overlapping ``[N, 2]`` centres: rejection sampling, then a jittered grid."""
    n = len(radii)
    pos = np.empty((n, 2))
    placed = 0
    for _ in range(200 * n):
        p = rng.uniform(radii[placed], size - radii[placed], size=2)
        if all(math.dist(p, pos[j]) > radii[placed] + radii[j] for j in range(placed)):
            pos[placed] = p
            placed += 1
            if placed == n:
                return pos
    # Crowded frame: one ball per cell of a grid the config check guarantees is wide enough.
    cells = math.ceil(math.sqrt(n))
    cell = size / cells
    slots = rng.permutation(cells * cells)[:n]
    for i, slot in enumerate(slots):
        room = cell / 2 - radii[i]
        centre = (np.array([slot % cells, slot // cells]) + 0.5) * cell
        pos[i] = centre + rng.uniform(-room, room, size=2)
    return pos


@DATASETS.register("bouncing_balls", config=BouncingBallsConfig)
class BouncingBallsDataset(ClipDataset):
    """Coloured balls bouncing off each other and the walls of a black frame.

    Items: ``video`` float ``[T, 3, H, W]`` in ``[-1, 1]``, ``label`` 0 (one class,
    ``"balls"``), ``caption`` like ``"3 bouncing balls"``.
    """

    channels = 3
    class_names = ["balls"]

    def __init__(self, config: BouncingBallsConfig):
        super().__init__(config)
        self.config: BouncingBallsConfig = config

    def __len__(self) -> int:
        return self.config.num_clips

    def simulate(self, index: int) -> dict[str, Any]:
        """State of clip ``index``: ``radii [N]``, ``positions``/``velocities``
        ``[raw_frames, N, 2]`` (pixels, frame spans ``[0, resolution]``) and ``colors``."""
        cfg = self.config
        rng = np.random.default_rng([cfg.seed, index])
        res = float(cfg.resolution)
        n = cfg.num_balls
        order = rng.permutation(len(cfg.colors))
        colors = [cfg.colors[int(order[i % len(cfg.colors)])] for i in range(n)]
        radii = rng.uniform(cfg.min_radius, cfg.max_radius, size=n) * res
        speed = rng.uniform(cfg.min_speed, cfg.max_speed, size=n) * res
        theta = rng.uniform(0.0, 2 * math.pi, size=n)
        vel = speed[:, None] * np.stack([np.cos(theta), np.sin(theta)], axis=1)
        pos = _place_balls(radii, res, rng)
        positions, velocities = simulate_balls(
            pos, vel, radii, size=res, frames=self.raw_frames, substeps=cfg.substeps
        )
        return {"radii": radii, "positions": positions, "velocities": velocities, "colors": colors}

    def load_clip(self, index: int, rng: np.random.Generator) -> tuple[np.ndarray, int, str]:
        state = self.simulate(index)
        res = self.config.resolution
        positions = state["positions"]
        k = _supersampling(res)
        clip = np.empty((len(positions), res, res, 3), dtype=np.uint8)
        canvas = np.empty((res * k, res * k, 3), dtype=np.uint8)
        for t in range(len(positions)):
            canvas.fill(0)
            for b, (r, name) in enumerate(zip(state["radii"], state["colors"])):
                _draw_circle(canvas, positions[t, b], r, PALETTE[name], k)
            clip[t] = _downsample(canvas, res)
        n = self.config.num_balls
        caption = "1 bouncing ball" if n == 1 else f"{n} bouncing balls"
        return clip, 0, caption

    def info(self) -> dict[str, Any]:
        out = super().info()
        out.update(balls_per_clip=self.config.num_balls)
        return out
