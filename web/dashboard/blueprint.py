"""The dashboard's blueprint, apart from its routes so that each area's module can add to it."""

from flask import Blueprint

bp = Blueprint("dashboard", __name__)
