"""The National Population Database (BCA): persons, households, identity verification."""
