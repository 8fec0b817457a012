"""Web Push with VAPID (transport.py); subscriptions are handled in vecinos.messaging.push."""
