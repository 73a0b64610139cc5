"""The tasks service: AI media tasks, workflow tasks and imports, and the task workers."""
