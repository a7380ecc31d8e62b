"""``vidgen ui``: start the web app (Gradio) over the shipped models and your run folders."""

from __future__ import annotations

import argparse
import sys


def add_parser(sub) -> None:
    p = sub.add_parser(
        "ui", help="start the web UI (generate, continue clips, reconstruct, evaluate)",
        description="Start a web page with a tab per capability, over the shipped models and the run folders "
                    "under --runs. It listens on 127.0.0.1 only unless --host says otherwise, opens no public "
                    "link and sends no analytics; requests queue (one model job at a time by default) and uploads "
                    "are capped in size, length and resolution.",
        epilog="Example: vidgen ui            # then open http://127.0.0.1:7860")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.add_argument("--runs", default="runs", help="folder whose run folders are offered (default runs)")
    p.add_argument("--max-upload-mb", type=float, default=50.0, help="largest upload (default 50 MB)")
    p.add_argument("--max-frames", type=int, default=256, help="longest upload, and most frames asked for (256)")
    p.add_argument("--max-resolution", type=int, default=512, help="largest upload side in pixels (512)")
    p.add_argument("--queue-size", type=int, default=16, help="requests that may wait (16)")
    p.add_argument("--concurrency", type=int, default=1,
                   help="model jobs at a time (default 1, right for a CPU; raise it on GPUs)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vidgen.errors import VidgenError
    from vidgen.ui.app import launch
    from vidgen.ui.service import UISettings

    for name in ("port", "max_frames", "max_resolution", "queue_size", "concurrency"):
        if getattr(args, name) < 1:
            raise VidgenError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if args.max_upload_mb <= 0:
        raise VidgenError(f"--max-upload-mb must be > 0, got {args.max_upload_mb}")
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: listening on {args.host}: anyone who can reach this machine can use the models and upload "
              "files; the server has no login", file=sys.stderr)
    settings = UISettings(host=args.host, port=args.port, runs=args.runs, max_upload_mb=args.max_upload_mb,
                          max_frames=args.max_frames, max_resolution=args.max_resolution, queue_size=args.queue_size,
                          concurrency=args.concurrency, device=args.device)
    print(f"vidgen ui on http://{'[' + args.host + ']' if ':' in args.host else args.host}:{args.port}  (Ctrl-C stops it)")
    launch(settings, block=True)
    return 0
