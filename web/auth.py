"""Logging in and out, and the language switch (the only pages open without a login)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_user, logout_user

from dialer.models import UserRole
from dialer.users import authenticate
from web import clock
from web.database import db_session
from web.i18n import LANGUAGES
from web.i18n import gettext as _
from web.security import Account, current_account

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """The login form; on success, back to the page that asked for a login."""
    target = _safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("login.html", next=target)
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    user = authenticate(db_session(), username, password, now=clock.now())
    if user is None:
        flash(_("Wrong user name or password."), "error")
        return render_template("login.html", next=target, username=username), 401
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language
    login_user(Account(user.id, user.username, UserRole(user.role)))
    session.permanent = True
    return redirect(target or url_for("dashboard.index"))


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    current_account()
    logout_user()
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.post("/language")
def language() -> ResponseReturnValue:
    """Switch the interface language; stays for the browser session."""
    chosen = request.form.get("lang", "")
    if chosen in LANGUAGES:
        session["lang"] = chosen
    return redirect(_safe_next(request.form.get("next")) or url_for("dashboard.index"))


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site: never another host (an open redirect)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target:
        return None
    return target
