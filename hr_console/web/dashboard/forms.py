"""The dashboard has no form: it only reads."""
