"""A script that calls services without create_app still writes search outbox rows: the database
layer's sessions carry the outbox listener (run in a fresh interpreter, where no app was built)."""

import subprocess
import sys

SCRIPT = """
from sqlalchemy import event
from sqlalchemy.orm import Session
from search import outbox
from shop.db import make_engine
from shop.sessions import make_sessionmaker

assert not event.contains(Session, "after_flush", outbox._after_flush)
make_sessionmaker(make_engine("sqlite://"))
assert event.contains(Session, "after_flush", outbox._after_flush)
assert event.contains(Session, "before_commit", outbox._before_commit)
print("listening")
"""


def test_sessions_made_without_the_app_write_the_outbox():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "listening"
