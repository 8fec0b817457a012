# One index for a reference's messages and for an item's: (ref_type, ref_id, ref_item)
# replaces (ref_type, ref_id) and (ref_item). Every lookup by item names its reference; on
# PostgreSQL each claim and each outcome writes a new row version into every index (7 -> 6).

from django.db import migrations, models

# Django's name for the index db_index=True made on ref_item (0002).
OLD_ITEM_INDEX = "messaging_delivery_ref_item_ef3768af"


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0007_delivery_indexes"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="delivery",
            name="delivery_ref",
        ),
        # Only the index goes: on SQLite an AlterField would copy the whole table to drop it.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="delivery",
                    name="ref_item",
                    field=models.BigIntegerField(blank=True, null=True),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    sql=f'DROP INDEX IF EXISTS "{OLD_ITEM_INDEX}"',
                    reverse_sql=(
                        f'CREATE INDEX "{OLD_ITEM_INDEX}" ON "messaging_delivery" ("ref_item")'
                    ),
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="delivery",
            index=models.Index(fields=["ref_type", "ref_id", "ref_item"], name="delivery_ref"),
        ),
    ]
