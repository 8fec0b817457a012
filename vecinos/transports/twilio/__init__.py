"""Twilio: the SMS transport (sms.py) and webhook signature validation (webhooks.py)."""
