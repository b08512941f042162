"""The National Land Database (BNNMT): parcels, certificates, rights holders, mortgages.

A parcel is named two ways and the service accepts both on ``GET /parcels/{ref}``: the
national parcel id (a 12-character GeoHash, ``w7er8u0evss2``) and the cadastral number
(commune code-map sheet-parcel number, ``00070-12-345``). They cannot be confused (the
GeoHash alphabet has no ``-``), and every answer carries both, so a caller holding the old
paper reference learns the national id in one call.

Layout: ``models`` (tables), ``repository`` (SQL), ``service`` (rules, field lists),
``endpoints`` (HTTP), ``schemas`` (OpenAPI shapes), ``app``; ``seed`` with ``seed_history``
and ``geography`` for the synthetic register; ``vocabulary`` for the codes.
"""
