"""The HTTP service: ``create_app(settings, pipeline)`` builds the FastAPI app (see docs/http.md)."""
from .app import app_from_environment, create_app

__all__ = ["app_from_environment", "create_app"]
