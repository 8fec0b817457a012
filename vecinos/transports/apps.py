from django.apps import AppConfig


class TransportsConfig(AppConfig):
    name = "vecinos.transports"
    label = "transports"

    def ready(self) -> None:
        from vecinos.core.extensions import add_purge_step, add_retention_step
        from vecinos.transports import purge

        add_purge_step("transports.outbox", purge.purge_outbox, order=25)
        add_retention_step("transports.bodies", purge.empty_old_bodies, order=25)
