"""The demo's directory: made anew each run, with its database, shop and call lists.

The directory holds a marker file so that a second run may clear what the first one left, and
nothing else is ever deleted: a directory the demo did not make is refused.
"""

from __future__ import annotations

import secrets
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from dialer.campaigns import Config
from dialer.db import make_engine, make_session_factory, upgrade
from dialer.errors import DialerError
from dialer.importer import import_file
from dialer.lists import BuildResult, build_all
from dialer.synthetic.shop import ShopFiles, write_shop_csvs
from dialer.users import create_user

MARKER = ".dialer-demo"
#: The import order: customers before what refers to them.
KINDS = ("customers", "orders", "subscriptions", "mailings", "dnc")
SUPERVISOR = "demo"


class WorkspaceError(DialerError):
    """The demo directory cannot be used."""


@dataclass(frozen=True)
class Workspace:
    """Where one demo run keeps its files."""

    directory: Path

    @property
    def database_url(self) -> str:
        return f"sqlite:///{(self.directory / 'dialer.sqlite3').resolve()}"

    @property
    def shop(self) -> Path:
        return self.directory / "shop"

    def log(self, name: str) -> Path:
        return self.directory / f"{name}.log"

    @property
    def summary(self) -> Path:
        return self.directory / "summary.json"


def prepare(directory: Path) -> Workspace:
    """An empty `directory`, made for this run; a previous demo's files are cleared."""
    if directory.exists():
        if not directory.is_dir():
            raise WorkspaceError(f"{directory} is a file; give the demo a directory (--dir)")
        if any(directory.iterdir()) and not (directory / MARKER).exists():
            raise WorkspaceError(
                f"{directory} is not empty and was not made by `dialer demo`; "
                "choose another directory with --dir"
            )
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    (directory / MARKER).write_text("made by `dialer demo`; the next demo run clears it\n")
    return Workspace(directory)


@dataclass(frozen=True)
class Prepared:
    """What setting up produced: the shop's files, the lists and the dashboard login."""

    shop: ShopFiles
    lists: list[BuildResult]
    password: str


def populate(
    workspace: Workspace, config: Config, *, customers: int, seed: int, now: datetime
) -> Prepared:
    """Create the schema, generate and import the shop as of `now`, build every call list and
    add the dashboard's supervisor account."""
    upgrade(workspace.database_url)
    shop = write_shop_csvs(workspace.shop, customers=customers, seed=seed, as_of=now.date())
    engine = make_engine(workspace.database_url)
    try:
        for kind in KINDS:
            import_file(engine, kind, workspace.shop / f"{kind}.csv", now=now)
        lists = build_all(engine, config, now=now)
        password = secrets.token_urlsafe(9)
        with make_session_factory(engine)() as session:
            create_user(session, SUPERVISOR, role="supervisor", password=password, now=now)
    finally:
        engine.dispose()
    return Prepared(shop=shop, lists=lists, password=password)
