"""The baseline of bench/serve.py: a bare Flask app that answers "Hello, World!", served like the portal."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "Hello, World!"
