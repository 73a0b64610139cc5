"""`python -m framelane_renderer` serves the renderer service."""

from framelane_core.lifecycle import run
from framelane_renderer.app import RendererApp

run(RendererApp())
