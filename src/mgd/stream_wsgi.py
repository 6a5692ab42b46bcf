"""The WSGI entry of the stream process, which holds the chat's waiting requests (``…/chat/<id>/espera``):
``mgd serve-stream``, or ``gunicorn -c python:mgd.gunicorn_stream_conf mgd.stream_wsgi:app``. The same app as
``mgd.wsgi``, with a hub that listens for chat news (``mgd.chat.stream``); docs/chat.md."""

from mgd import create_app
from mgd.chat import stream
from mgd.db import database

app = create_app()
stream.serve_waits(app, database(app).engine)
