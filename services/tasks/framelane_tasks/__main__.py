"""`python -m framelane_tasks` serves the tasks service."""

from framelane_core.lifecycle import run
from framelane_tasks.app import TasksApp

run(TasksApp())
