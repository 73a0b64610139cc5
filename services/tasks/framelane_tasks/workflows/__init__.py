"""Workflow compilers: pure functions that turn a workflow's inputs (images, audio, a brief) into a
render spec in Framelane's own schema, which the render engine then draws like any other render."""
