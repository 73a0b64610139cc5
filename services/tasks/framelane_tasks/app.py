"""Composition root of the tasks service."""

from nats.js.api import RetentionPolicy

from framelane_core import capabilities
from framelane_core.lifecycle import Resources, ServiceApp
from framelane_tasks.catalog import describe


class TasksApp(ServiceApp):
    name = "tasks"
    migrations_package = "framelane_tasks"
    stream_retention = RetentionPolicy.LIMITS

    def service_names(self) -> list[str]:
        return [capabilities.SERVICE_NAME]

    async def wire(self, res: Resources) -> list:
        capabilities.register(res.server, describe)
        return []
