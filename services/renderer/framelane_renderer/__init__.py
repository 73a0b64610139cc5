"""The renderer: render jobs from a JSON timeline to a finished video, and the render workers."""
