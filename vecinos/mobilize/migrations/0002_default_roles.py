from django.db import migrations

ROLES = [
    ("observer", "Legal observer", "Observador legal"),
    ("documenter", "Documenter", "Documentación"),
    ("accompaniment", "Accompaniment / family support", "Acompañamiento / apoyo a familias"),
    ("presence", "Presence", "Presencia"),
    ("driver", "Driver", "Conductor"),
    ("interpreter", "Interpreter", "Intérprete"),
]


def add_roles(apps, schema_editor):
    CalloutRole = apps.get_model("mobilize", "CalloutRole")
    for order, (key, en, es) in enumerate(ROLES):
        CalloutRole.objects.get_or_create(
            key=key, defaults={"names": {"en": en, "es": es}, "order": order}
        )


class Migration(migrations.Migration):
    dependencies = [("mobilize", "0001_callouts_and_events")]

    operations = [migrations.RunPython(add_roles, migrations.RunPython.noop)]
