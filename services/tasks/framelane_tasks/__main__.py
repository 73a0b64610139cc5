"""`python -m framelane_tasks` serves the tasks service; `... worker` runs a task worker."""

import sys

from framelane_core.lifecycle import run
from framelane_tasks.app import TasksApp, TaskWorkerApp

run(TaskWorkerApp() if sys.argv[1:] == ["worker"] else TasksApp())
