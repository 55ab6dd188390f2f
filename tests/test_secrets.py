"""No published secret is trusted: without JWT_SECRET_KEY / VOUCHER_CODE_SECRET a development
instance makes its own (kept under its instance directory, mode 0600); production refuses to start.
The WeChat app secret, session keys and access tokens are never logged or answered."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from flask_jwt_extended import create_access_token

from shop import config, create_app
from shop.auth.models import Role
from tests.conftest import TEST_CONFIG, WECHAT_SECRET

LOGIN = "/api/v1/auth/wechat/mini-program"
PHONE = "/api/v1/auth/wechat/phone"

# The key that was written in shop/config.py before: public, so anyone could mint an admin token.
OLD_DEVELOPMENT_KEY = "dev-only-change-me-in-production-0123456789"
ROOT = Path(__file__).resolve().parent.parent
NO_SECRETS = {"JWT_SECRET_KEY": "", "VOUCHER_CODE_SECRET": ""}


def _app(engine, instance_dir, **settings):
    return create_app({**TEST_CONFIG, "ENGINE": engine, **NO_SECRETS, "INSTANCE_DIR": str(instance_dir), **settings})


def _token(app, user_id: int) -> str:
    with app.app_context():
        return create_access_token(identity=str(user_id))


def test_a_token_signed_with_the_old_development_key_is_refused(app, engine, session, make, tmp_path):
    dev = _app(engine, tmp_path)
    dev.extensions["shop"]["sessionmaker"] = app.extensions["shop"]["sessionmaker"]
    admin = make.user(Role.ADMIN)
    forged = _token(_app(engine, tmp_path / "other", JWT_SECRET_KEY=OLD_DEVELOPMENT_KEY), admin.id)
    with dev.app_context():
        client = dev.test_client()
        refused = client.get("/api/v1/admin/users", headers={"Authorization": f"Bearer {forged}"})
        assert refused.status_code == 401
        assert refused.json["error"]["code"] == "invalid_token"
        own = client.get("/api/v1/admin/users", headers={"Authorization": f"Bearer {_token(dev, admin.id)}"})
        assert own.status_code == 200


def test_generated_secrets_are_private_and_reused_after_a_restart(engine, tmp_path):
    first = _app(engine, tmp_path)
    path = tmp_path / config.SECRETS_FILE_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for name in config.SECRET_SETTINGS:
        assert len(first.config[name]) >= config.SECRET_MIN_LENGTH
    assert first.config["JWT_SECRET_KEY"] != first.config["VOUCHER_CODE_SECRET"]

    again = _app(engine, tmp_path)
    assert again.config["JWT_SECRET_KEY"] == first.config["JWT_SECRET_KEY"]
    assert again.config["VOUCHER_CODE_SECRET"] == first.config["VOUCHER_CODE_SECRET"]

    elsewhere = _app(engine, tmp_path / "another-instance")
    assert elsewhere.config["JWT_SECRET_KEY"] != first.config["JWT_SECRET_KEY"]

    given = _app(engine, tmp_path, JWT_SECRET_KEY="x" * 40)
    assert given.config["JWT_SECRET_KEY"] == "x" * 40
    assert given.config["VOUCHER_CODE_SECRET"] == first.config["VOUCHER_CODE_SECRET"]


def test_workers_starting_together_share_one_set_of_secrets(tmp_path):
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: config.instance_secrets(tmp_path), range(16)))
    assert all(result == results[0] for result in results)
    assert [p.name for p in tmp_path.iterdir()] == [config.SECRETS_FILE_NAME]


@pytest.mark.parametrize(
    ("settings", "complaint"),
    [
        (NO_SECRETS, "JWT_SECRET_KEY and VOUCHER_CODE_SECRET"),
        ({"JWT_SECRET_KEY": "k" * 40, "VOUCHER_CODE_SECRET": ""}, "VOUCHER_CODE_SECRET"),
        ({"JWT_SECRET_KEY": "short", "VOUCHER_CODE_SECRET": "v" * 40}, "at least 32 characters"),
    ],
)
def test_production_refuses_to_start_without_its_secrets(engine, tmp_path, settings, complaint):
    with pytest.raises(config.ConfigurationError, match=complaint):
        _app(engine, tmp_path, SHOP_ENV="production", **settings)
    assert not (tmp_path / config.SECRETS_FILE_NAME).exists()


def test_production_starts_with_its_secrets_and_writes_none(engine, tmp_path):
    app = _app(engine, tmp_path, SHOP_ENV="production", JWT_SECRET_KEY="k" * 40, VOUCHER_CODE_SECRET="v" * 40)
    assert app.config["JWT_SECRET_KEY"] == "k" * 40
    assert not (tmp_path / config.SECRETS_FILE_NAME).exists()


def test_an_unknown_environment_name_is_refused(engine, tmp_path):
    with pytest.raises(config.ConfigurationError, match="SHOP_ENV"):
        _app(engine, tmp_path, SHOP_ENV="prod")


def test_the_server_command_says_why_it_will_not_start(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("JWT_SECRET_KEY", "VOUCHER_CODE_SECRET", "DATABASE_URL")}
    env.update(SHOP_ENV="production", FLASK_APP="wsgi.py", DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite'}")
    run = subprocess.run(
        [sys.executable, "-c", "import wsgi"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert run.returncode != 0
    assert "SHOP_ENV=production needs JWT_SECRET_KEY and VOUCHER_CODE_SECRET" in run.stderr


def test_no_development_secret_is_left_in_the_code():
    sources = [*ROOT.joinpath("shop").rglob("*.py"), *ROOT.joinpath("payments").rglob("*.py")]
    assert not [p for p in sources if "dev-only" in p.read_text(encoding="utf-8")]


def test_the_wechat_secret_session_key_and_access_token_are_never_logged_or_returned(
    app, client, wechat_peer, caplog, capsys
):
    """Every path of the WeChat log-in, success and each failure, logged at DEBUG: neither the app
    secret, nor a session key, nor an access token appears in a log line or an answer."""
    session_key = "session-key-that-must-stay-secret-0123"
    answers = [client.post(LOGIN, json={"code": wechat_peer.login_code("o-secret", session_key=session_key)})]
    token = answers[0].json["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    answers.append(client.post(PHONE, json={"phone_code": wechat_peer.phone_code("13800000077")}, headers=headers))
    for failure in (40029, 45011, -1, "slow", 500, 40125):
        wechat_peer.fail("/sns/jscode2session", failure)
        answers.append(client.post(LOGIN, json={"code": wechat_peer.login_code("o-secret", session_key=session_key)}))
    wechat_peer.fail("/cgi-bin/token", 40125)
    wechat_peer.invalidate_tokens()
    answers.append(client.post(PHONE, json={"phone_code": wechat_peer.phone_code("13800000078")}, headers=headers))
    assert {a.status_code for a in answers} == {200, 401, 502, 503}
    with caplog.at_level(logging.DEBUG):
        wechat_peer.fail("/sns/jscode2session", -1)
        client.post(LOGIN, json={"code": wechat_peer.login_code("o-secret", session_key=session_key)})
    written = caplog.text + "".join(capsys.readouterr()) + "".join(a.get_data(as_text=True) for a in answers)
    settings_shown = repr(app.extensions["shop"]["settings"])
    for secret in (WECHAT_SECRET, session_key, *wechat_peer.tokens):
        assert secret not in written
        assert secret not in settings_shown
