from django.apps import AppConfig


class TransportsConfig(AppConfig):
    name = "vecinos.transports"
    label = "transports"
