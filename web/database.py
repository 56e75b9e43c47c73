"""The web app's database: one engine per app, one session per request.

The engine and its session factory are built by `init_app` (nothing connects until a request
needs the database, so the app starts and answers its health check with the database down) and
kept in `app.extensions`. A request's session is opened on first use and closed when the
request ends; the `dialer` functions it is handed decide their own transactions.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app, g
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from dialer.db import make_engine, make_session_factory
from dialer.settings import Settings

EXTENSION = "dialer.database"
_SESSION = "dialer_session"


@dataclass(frozen=True)
class Database:
    """The app's engine and the factory of its sessions."""

    engine: Engine
    sessions: sessionmaker[Session]


def init_app(app: Flask, settings: Settings) -> None:
    """Attach the database named by `settings.database_url` to `app`."""
    engine = make_engine(settings.database_url)
    app.extensions[EXTENSION] = Database(engine, make_session_factory(engine))
    app.teardown_appcontext(_close_session)


def database(app: Flask | None = None) -> Database:
    """The database attached to `app` (the current app when omitted)."""
    found: Database = (app or current_app).extensions[EXTENSION]
    return found


def db_session() -> Session:
    """This request's session, opened on first use."""
    if _SESSION not in g:
        setattr(g, _SESSION, database().sessions())
    session: Session = getattr(g, _SESSION)
    return session


def _close_session(_error: BaseException | None) -> None:
    session: Session | None = g.pop(_SESSION, None)
    if session is not None:
        session.close()
