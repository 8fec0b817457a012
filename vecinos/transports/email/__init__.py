"""Email over SMTP (transport.py)."""
