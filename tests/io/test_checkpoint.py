"""The inference export: safetensors + JSON, atomic, self-describing, clear errors."""

from __future__ import annotations

import json

import pytest
import torch

from vidgen.errors import VidgenError
from vidgen.io.checkpoint import FORMAT_VERSION, CONFIG, WEIGHTS, find_export, load_export, save_export


def test_round_trip(tmp_path):
    state = {"generator.w": torch.randn(3, 4), "generator.b": torch.arange(5)}
    save_export(tmp_path / "run", state, {"model": {"name": "dcgan3d"}})
    loaded, meta = load_export(tmp_path / "run")
    assert set(loaded) == set(state)
    for k in state:
        assert torch.equal(loaded[k], state[k])
    assert meta["model"]["name"] == "dcgan3d" and meta["format_version"] == FORMAT_VERSION == 2
    # the weights file itself is accepted too
    assert find_export(tmp_path / "run" / WEIGHTS) == tmp_path / "run"
    # no temporary files are left behind
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == sorted([WEIGHTS, CONFIG])


def test_missing_and_incomplete_exports(tmp_path):
    with pytest.raises(VidgenError, match="does not exist"):
        find_export(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(VidgenError, match="holds no exported model"):
        find_export(tmp_path / "empty")


def test_corrupt_files_are_reported(tmp_path):
    save_export(tmp_path, {"w": torch.ones(2)}, {})
    (tmp_path / WEIGHTS).write_bytes(b"not a safetensors file")
    with pytest.raises(VidgenError, match="cannot be read"):
        load_export(tmp_path)
    save_export(tmp_path, {"w": torch.ones(2)}, {})
    (tmp_path / CONFIG).write_text("{broken")
    with pytest.raises(VidgenError, match="not valid JSON"):
        load_export(tmp_path)


def test_api_rejects_weights_that_do_not_match(tmp_path):
    import vidgen

    save_export(tmp_path, {"generator.nope": torch.ones(2)},
                {"model": {"name": "dcgan3d"}, "video": {"frames": 4, "resolution": 8, "channels": 3}})
    with pytest.raises(VidgenError, match="do not match"):
        vidgen.load(tmp_path)
    (tmp_path / CONFIG).write_text(json.dumps({"video": {}}))
    with pytest.raises(VidgenError, match="lacks the model"):
        vidgen.load(tmp_path)


def test_exports_and_states_get_the_mode_the_umask_gives(tmp_path):
    """Written to a temporary file and renamed, they still get 0644 under umask 022 (not mkstemp's 0600),
    so a teammate can load a shared run."""
    import os
    import stat

    old = os.umask(0o022)
    try:
        save_export(tmp_path / "run", {"generator.w": torch.zeros(2)}, {"model": {"name": "dcgan3d"}})
        from vidgen.io.checkpoint import save_state

        state = save_state(tmp_path / "run", {"step": 1}, step=1, keep=2)
    finally:
        os.umask(old)
    for path in (tmp_path / "run" / WEIGHTS, tmp_path / "run" / CONFIG, state):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path
