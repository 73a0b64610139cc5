"""`python -m framelane_renderer` serves the render API; `... worker` runs a render worker."""

import sys

from framelane_core.lifecycle import run
from framelane_renderer.app import RendererApp, RenderWorkerApp

run(RenderWorkerApp() if sys.argv[1:] == ["worker"] else RendererApp())
