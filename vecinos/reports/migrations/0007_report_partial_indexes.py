"""Fewer indexes on reports_report (issue 15: intake).

Every public report wrote all fifteen of the table's indexes. Four single-column ones are dropped
(cell7 and source_key lead composite indexes; nothing looks up by flood_group or
reporter_index alone) and the four foreign keys' indexes become partial: only the rows that
have an incident, zone, reporting member or triager, which is all a lookup by them reads.

Written by hand: Django's AlterField would rebuild the whole table eight times on SQLite to
drop an index. The database side here drops the indexes by name (on PostgreSQL also the
`_like` pattern indexes Django adds for a CharField); the state side is what makemigrations
wrote.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# Django's names for the indexes dropped here (the same on both databases).
DROPPED = {
    "reports_report_cell7_9a9acbd3": "cell7",
    "reports_report_source_key_4bca9980": "source_key",
    "reports_report_flood_group_a5bdbd97": "flood_group",
    "reports_report_reporter_index_d0e0d389": "reporter_index",
    "reports_report_incident_id_65625072": "incident_id",
    "reports_report_zone_id_e0fbbbc0": "zone_id",
    "reports_report_reporter_member_id_fe26f210": "reporter_member_id",
    "reports_report_triaged_by_id_b12ae9e0": "triaged_by_id",
}
CHAR_COLUMNS = {"cell7", "source_key", "flood_group", "reporter_index"}


def drop_indexes(apps, schema_editor):
    postgres = schema_editor.connection.vendor == "postgresql"
    for name, column in DROPPED.items():
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')
        if postgres and column in CHAR_COLUMNS:
            schema_editor.execute(f'DROP INDEX IF EXISTS "{name}_like"')


def create_indexes(apps, schema_editor):
    postgres = schema_editor.connection.vendor == "postgresql"
    for name, column in DROPPED.items():
        schema_editor.execute(f'CREATE INDEX "{name}" ON "reports_report" ("{column}")')
        if postgres and column in CHAR_COLUMNS:
            schema_editor.execute(
                f'CREATE INDEX "{name}_like" ON "reports_report" ("{column}" varchar_pattern_ops)'
            )


class Migration(migrations.Migration):
    dependencies = [
        ("network", "0004_phone_change"),
        ("reports", "0006_console_presence_and_pages"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(drop_indexes, create_indexes)],
            state_operations=[
                migrations.AlterField(
                    model_name="report",
                    name="cell7",
                    field=models.CharField(blank=True, max_length=16),
                ),
                migrations.AlterField(
                    model_name="report",
                    name="flood_group",
                    field=models.CharField(blank=True, max_length=40),
                ),
                migrations.AlterField(
                    model_name="report",
                    name="incident",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="reports",
                        to="reports.incident",
                    ),
                ),
                migrations.AlterField(
                    model_name="report",
                    name="reporter_index",
                    field=models.CharField(blank=True, max_length=64),
                ),
                migrations.AlterField(
                    model_name="report",
                    name="reporter_member",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="reports",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="report",
                    name="source_key",
                    field=models.CharField(blank=True, max_length=32),
                ),
                migrations.AlterField(
                    model_name="report",
                    name="triaged_by",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="report",
                    name="zone",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="network.zone",
                    ),
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="report",
            index=models.Index(
                condition=models.Q(("incident__isnull", False)),
                fields=["incident"],
                name="report_incident",
            ),
        ),
        migrations.AddIndex(
            model_name="report",
            index=models.Index(
                condition=models.Q(("zone__isnull", False)), fields=["zone"], name="report_zone"
            ),
        ),
        migrations.AddIndex(
            model_name="report",
            index=models.Index(
                condition=models.Q(("reporter_member__isnull", False)),
                fields=["reporter_member"],
                name="report_reporter_member",
            ),
        ),
        migrations.AddIndex(
            model_name="report",
            index=models.Index(
                condition=models.Q(("triaged_by__isnull", False)),
                fields=["triaged_by"],
                name="report_triaged_by",
            ),
        ),
    ]
