"""Alembic migrations, shipped inside the package so `dialer db upgrade` works once installed.

A regular package so that `env.py` is installed with it; nothing here is meant to be imported.
"""
