"""SMS through an Android phone running "SMS Gateway for Android" (transport.py)."""
