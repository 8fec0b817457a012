from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "vecinos.messaging"
    label = "messaging"
