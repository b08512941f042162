"""``python -m stack`` — the same CLI as the ``lienthong`` script.

``lienthong up`` starts each service as ``sys.executable -m stack serve <name>`` so the
children run in the very interpreter (and virtualenv) of the parent, whether or not the
``lienthong`` script is on ``PATH``.
"""

from stack.cli import main

main()
