"""Running shareguard for real: backup and restore, metrics, logs and readiness.

``startup.py`` wires the web side (request ids, ``/metrics``, ``/readyz``, JSON access lines);
``backup.py`` makes and restores backups; ``cli.py`` is ``shareguard backup ...``. See
docs/operations.md.
"""
