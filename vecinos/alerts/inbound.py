"""SMS keywords of the alerts app (JOIN/STOP/HELP/language/acknowledgements)."""
