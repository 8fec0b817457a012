# On PostgreSQL the update trigger no longer lists every provider id it sees (issue 15). Twilio's
# status callbacks, nearly every message, name their delivery in their URL and find it by its key;
# the worker lists the ids of a transport whose receipts name nothing else (the Android
# gateway's: messaging.dueset.list_provider_ids). Listing each SID was 0.007 ms of the database's
# CPU a message and a tenth of its write-ahead log in the fan-out benchmark. The ids listed so
# far stay: a callback of a message sent before this migration names no delivery and is found
# by them. The insert trigger still lists a row inserted with a provider id (none is, but an
# import could be), and the delete trigger still removes a deleted row's entries.

from django.db import migrations

UPDATED = """
CREATE OR REPLACE FUNCTION messaging_due_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Back in the queue (a retry, a release, a lease swept) or due at another time; or a
    -- lease renewed or ended early. (A claim, queued to sending, sets the entry itself.)
    INSERT INTO messaging_due (delivery_id, due_at, leased)
        SELECT n.id, CASE WHEN n.status = 'queued' THEN n.next_attempt_at
                          ELSE coalesce(n.lease_until, now()) END, n.status = 'sending'
        FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE (n.status = 'queued'
               AND (o.status <> 'queued' OR o.next_attempt_at <> n.next_attempt_at))
           OR (n.status = 'sending' AND o.status = 'sending'
               AND n.lease_until IS DISTINCT FROM o.lease_until)
        ON CONFLICT (delivery_id) DO UPDATE
        SET due_at = excluded.due_at, leased = excluded.leased;
    -- Neither waiting nor in flight any more.
    DELETE FROM messaging_due d USING new_rows n
        WHERE d.delivery_id = n.id AND n.status NOT IN ('queued', 'sending');
    {provider_ref}INSERT INTO messaging_failed (delivery_id)
        SELECT n.id FROM new_rows n WHERE n.status IN ('failed', 'undelivered')
        ON CONFLICT (delivery_id) DO NOTHING;
    DELETE FROM messaging_failed f USING old_rows o, new_rows n
        WHERE o.status IN ('failed', 'undelivered') AND n.id = o.id
          AND n.status NOT IN ('failed', 'undelivered') AND f.delivery_id = o.id;
    RETURN NULL;
END $$;
"""

# Migration 0009's statement, for going back.
LISTED = """INSERT INTO messaging_provider_ref (provider_id, delivery_id)
        SELECT n.provider_id, n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE n.provider_id <> '' AND n.provider_id <> o.provider_id;
    """


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(UPDATED.replace("{provider_ref}", ""))


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(UPDATED.replace("{provider_ref}", LISTED))


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0009_due_set"),
    ]

    operations = [migrations.RunPython(forward, backward)]
