"""Layers shared across model families (recurrent cells, space-to-depth helpers).

Nothing here is registered: architectures in ``vidgen.models`` build on these parts.
"""
