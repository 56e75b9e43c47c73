"""The web app factory builds an app without side effects and answers its health check."""

from dialer.settings import Settings
from web import create_app


def test_factory_applies_test_config() -> None:
    app = create_app(Settings(), {"TESTING": True})
    assert app.testing


def test_health_answers_without_database() -> None:
    app = create_app(Settings(database_url="sqlite:////nonexistent/dir/x.db"))
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_settings_hide_secrets_from_repr() -> None:
    settings = Settings.from_env({"TWILIO_AUTH_TOKEN": "tok-secret", "SECRET_KEY": "k-secret"})
    assert "tok-secret" not in repr(settings)
    assert "k-secret" not in repr(settings)
    assert settings.twilio_auth_token == "tok-secret"


def test_settings_defaults_match_the_design() -> None:
    settings = Settings.from_env({})
    assert settings.database_url.startswith("sqlite:///")
    assert str(settings.campaigns_path) == "campaigns.yaml"
    assert settings.twilio_api_base_url == "https://api.twilio.com"
