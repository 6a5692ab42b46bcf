"""The WSGI entry of production servers: ``gunicorn mgd.wsgi:app`` (settings from ``MGD_*`` variables)."""

from mgd import create_app

app = create_app()
