"""Signal through signal-cli-rest-api (transport.py)."""
