"""``vidgen list WHAT``: the names vidgen knows, from their registries."""

from __future__ import annotations

import argparse
from pathlib import Path

KINDS = ("models", "families", "datasets", "metrics", "recipes", "shipped")


def add_parser(sub) -> None:
    p = sub.add_parser(
        "list", help="list models, families, datasets, metrics, recipes or shipped models",
        description="List what vidgen knows: registered model architectures (with their family), model families "
                    "(with what their models can do), datasets, metrics (with what each needs), the recipes in "
                    "a configs/ folder, and the pretrained models shipped with the package.",
        epilog="Examples: vidgen list models\n          vidgen list recipes --dir configs")
    p.add_argument("what", choices=KINDS, help="what to list")
    p.add_argument("--dir", default="configs", help="recipes: the folder to search (default configs)")
    p.set_defaults(func=run)


def _first_line(obj) -> str:
    return (obj.__doc__ or "").strip().splitlines()[0] if obj.__doc__ else ""


def run(args: argparse.Namespace) -> int:
    from vidgen.errors import VidgenError
    from vidgen.registry import DATASETS, FAMILIES, METRICS, MODELS

    rows: list[tuple[str, str]] = []
    if args.what == "models":
        rows = [(e.name, f"[{e.meta.get('family')}] {_first_line(e.obj)}") for e in MODELS]
    elif args.what == "families":
        rows = [(e.name, e.obj.summary) for e in FAMILIES]
    elif args.what == "datasets":
        rows = [(e.name, _first_line(e.obj)) for e in DATASETS]
    elif args.what == "metrics":
        from vidgen.metrics.generative import describe_needs

        rows = [(e.form, f"{e.meta.get('summary', '')} (needs {describe_needs(e.meta.get('needs', ()))})")
                for e in METRICS]
    elif args.what == "recipes":
        import yaml

        folder = Path(args.dir)
        if not folder.is_dir():
            raise VidgenError(f"no recipe folder {folder}", hint="run it in a vidgen checkout, or pass --dir DIR")
        for path in sorted(folder.rglob("*.yaml")):
            data = yaml.safe_load(path.read_text()) or {}
            model = (data.get("model") or {}).get("name", "dcgan3d")
            dataset = (data.get("data") or {}).get("name", "shapes")
            rows.append((str(path), f"{model} on {dataset}"))
    else:
        from vidgen.zoo import shipped_models

        rows = [(m.name, f"{m.summary} ({m.size_bytes / 2**20:.1f} MiB)") for m in shipped_models()]
    width = max((len(name) for name, _ in rows), default=0)
    for name, text in rows:
        print(f"{name:<{width}}  {text}")
    return 0
