"""A development stand-in for VNeID, Vietnam's national e-identity: it issues citizen tokens.

There is no authentication at all: whoever asks gets a token for any personal id. It exists
so the local stack can show citizens their data and consents; it refuses to start with
``CITIZEN_ID_ENVIRONMENT=prod``.
"""
