"""Tracegate command line and demo: composes edge and cloud, imported lazily.

Nothing imports this package; it imports `edge` and `cloud` only inside the
commands that need them, so a Raspberry Pi with only `.[edge]` installed can
run every edge command without Litestar, SQLAlchemy or asyncpg present.
"""

__version__ = "0.1.0"
