from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "vecinos.messaging"
    label = "messaging"

    def ready(self) -> None:
        from vecinos.core.extensions import add_purge_step, add_retention_step
        from vecinos.messaging import purge

        add_purge_step("messaging.deliveries", purge.purge_deliveries, order=20)
        add_purge_step("messaging.contacts", purge.purge_contacts, order=35)
        add_retention_step("messaging.bodies", purge.empty_old_bodies, order=20)
