"""The baseline for bench/webhook.py: a bare Flask app that answers 200 to POST /callback and does nothing."""

from flask import Flask

app = Flask(__name__)


@app.post("/callback")
def callback() -> str:
    return "OK"
