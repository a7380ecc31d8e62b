"""``python -m vidgen`` runs the CLI."""

from vidgen.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
