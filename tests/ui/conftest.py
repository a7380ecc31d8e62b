"""A running UI server for the API and browser tests, over the fixture exports (tiny, fast models)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

pytest.importorskip("gradio", reason="the web UI needs gradio (pip install -e '.[test]')")

EXPORTS = Path(__file__).resolve().parents[1] / "fixtures" / "exports_v1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``(url, service)`` of an app on a free port of 127.0.0.1, with small upload limits."""
    from vidgen.ui.app import build_app
    from vidgen.ui.service import Service, UISettings

    out = tmp_path_factory.mktemp("ui")
    settings = UISettings(port=free_port(), runs=str(EXPORTS), output_dir=str(out), max_upload_mb=0.5,
                          max_frames=64, max_resolution=128)
    service = Service(settings)
    app = build_app(service)
    app.launch(server_name=settings.host, server_port=settings.port, share=False, prevent_thread_lock=True,
               quiet=True, max_file_size=int(settings.max_upload_mb * 2**20), allowed_paths=[str(out)])
    try:
        yield f"http://127.0.0.1:{settings.port}/", service
    finally:
        app.close()
