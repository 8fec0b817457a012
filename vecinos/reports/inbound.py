"""Inbound SMS/voice handlers of the reports pipeline (registered with messaging's router)."""
