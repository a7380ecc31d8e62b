"""The web UI (``vidgen ui``): :mod:`~vidgen.ui.service` holds what it does, :mod:`~vidgen.ui.app` the Gradio page."""
