"""A request's authentication is one statement (token revoked? who acts?) and stays exact: a revoked
token or log-in, a grant taken away, a deactivated or deleted account count from the next request."""

from shop.auth import service
from shop.auth.models import RevokedToken, RevokedTokenFamily, Role
from shop.clock import now


def test_one_statement_answers_revocation_and_the_actor(session, make, count_queries):
    user = make.user((Role.REGULATOR, 0))
    with count_queries() as counter:
        revoked, actor = service.check_token(session, user.id, "jti-1", "fam-1")
    assert counter.count == 1
    assert not revoked and actor.user_id == user.id and actor.has(Role.REGULATOR, 0)

    session.add(RevokedToken(jti="jti-1", expires_at=now()))
    session.flush()
    assert service.check_token(session, user.id, "jti-1", "fam-1")[0]
    assert not service.check_token(session, user.id, "jti-2", None)[0]
    session.add(RevokedTokenFamily(family="fam-1", expires_at=now()))
    session.flush()
    assert service.check_token(session, user.id, "jti-2", "fam-1")[0]


def test_a_deactivated_account_acts_without_grants_and_a_missing_one_not_at_all(session, make):
    user = make.user((Role.ADMIN, 0))
    user.is_active = False
    session.flush()
    revoked, actor = service.check_token(session, user.id, "jti-3", None)
    assert not revoked and actor.grants == frozenset()
    assert service.check_token(session, 10**9, "jti-4", None) == (False, None)


def test_a_token_of_a_missing_account_is_refused(app, client):
    from flask_jwt_extended import create_access_token

    with app.app_context():
        token = create_access_token(identity=str(10**9))
    response = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
