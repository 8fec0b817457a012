"""Recipients' indexes: the alert's goes (the unique (alert, subscriber) answers by alert), and
the escalation step's and the captain's hold only the rows that have one.

The field changes are the model's state only; in the database each old index is dropped by
name. Django's own AlterField would rebuild the whole table on SQLite (three times, once per
field) and, on PostgreSQL, drop and re-check each foreign key over every row, for what is
only the removal of an index. Undone, the three plain indexes come back under their names."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# The indexes Django made for these fields (its names are the same on both databases).
DROPPED = (
    ("alerts_alertrecipient_alert_id_e751a912", "alert_id"),
    ("alerts_alertrecipient_captain_id_4928a5ef", "captain_id"),
    ("alerts_alertrecipient_next_step_at_d977a242", "next_step_at"),
)


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0014_hotline_short_lines"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="alertrecipient",
                    name="alert",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="recipients",
                        to="alerts.alert",
                    ),
                ),
                migrations.AlterField(
                    model_name="alertrecipient",
                    name="captain",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="tree_assignments",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="alertrecipient",
                    name="next_step_at",
                    field=models.DateTimeField(blank=True, null=True),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f"DROP INDEX IF EXISTS {name}",
                    reverse_sql=f"CREATE INDEX {name} ON alerts_alertrecipient ({column})",
                )
                for name, column in DROPPED
            ],
        ),
        migrations.AddIndex(
            model_name="alertrecipient",
            index=models.Index(
                condition=models.Q(("next_step_at__isnull", False)),
                fields=["next_step_at"],
                name="recipient_next_step",
            ),
        ),
        migrations.AddIndex(
            model_name="alertrecipient",
            index=models.Index(
                condition=models.Q(("captain__isnull", False)),
                fields=["captain"],
                name="recipient_captain",
            ),
        ),
    ]
