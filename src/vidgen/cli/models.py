"""``vidgen models [NAME]``: the pretrained models shipped with the package."""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    p = sub.add_parser(
        "models", help="list the pretrained models shipped with the package",
        description="The small pretrained models inside the package: what each does, how it was trained (the "
                    "exact command), its metrics as measured (and re-checked by the test suite) and its size. "
                    "Any command that takes a run folder takes their names too.",
        epilog="Examples: vidgen models\n          vidgen models shapes-cond64\n"
               "          vidgen sample shapes-cond64 --per-class --num 6 --out grid.png",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", nargs="?", default=None, help="one model's full listing")
    p.set_defaults(func=run)


def _describe(model, *, full: bool) -> list[str]:
    card = model.card
    lines = [f"{model.name}  ({model.size_bytes / 2**20:.1f} MiB)  {card['summary']}"]
    lines.append(f"    {card['model']} ({card['family']}), {card['clips']}"
                 + (f", classes: {', '.join(card['classes'])}" if card.get("classes") else "")
                 + f"; can: {', '.join(card['capabilities'])}")
    for m in card["metrics"]:
        lines.append(f"    {m['metric']} {m['key']} = {m['value']:.4g}  (re-checked within {m['tolerance']['rel']:.0%})")
        if full:
            lines.append(f"      measured by: {m['measure']}")
    trained = card["trained"]
    lines.append(f"    trained: {trained['kimg']:g} kimg, {trained['minutes']:g} min on {trained['hardware']}")
    if full:
        lines.append(f"      by: {card['command']}")
        lines.append(f"      recipe: {card['recipe']}")
        lines.extend(f"    try: {t}" for t in card.get("try", []))
    return lines


def run(args: argparse.Namespace) -> int:
    from vidgen.errors import VidgenError
    from vidgen.zoo import find_shipped, shipped_models

    if args.name is not None:
        model = find_shipped(args.name)
        if model is None:
            raise VidgenError(f"no shipped model is called {args.name!r}",
                              hint=f"shipped: {', '.join(m.name for m in shipped_models()) or 'none'}")
        print("\n".join(_describe(model, full=True)))
        return 0
    models = shipped_models()
    if not models:
        print("no pretrained models are installed with this package")
        return 0
    for model in models:
        print("\n".join(_describe(model, full=False)))
    print(f"\n{len(models)} models, {sum(m.size_bytes for m in models) / 2**20:.1f} MiB in all; "
          "'vidgen models NAME' for the training command and how each metric is measured")
    return 0
