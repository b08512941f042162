"""The local stack: the ``lienthong`` CLI, ``lienthong up``, seeding, serving one service."""
