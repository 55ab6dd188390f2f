"""Property-based fuzzing of the app's own OpenAPI, in-process, with a token of each main role: no
5xx, every response as its operation declares it (status and body).

Deterministic (derandomized) and small enough for CI; FUZZ_EXAMPLES raises the number of examples per
operation and role for a deeper local run."""

from __future__ import annotations

import os
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from shop import create_app
from shop.auth.models import Role
from tests.conftest import TEST_CONFIG, WECHAT_APP_ID, WECHAT_SECRET, WeChatPeer
from tests.factories import FENGJIE
from tests.procurement.conftest import make_org

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "3"))
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
ROLES = (
    "anonymous",
    "buyer",
    "supplier_member",
    "certifier",
    "hall_operator",
    "org_member",
    "org_approver",
    "org_finance",
    "admin",
)


@pytest.fixture(scope="module")
def wechat_server():
    with WeChatPeer() as peer:
        yield peer


@pytest.fixture(scope="module")
def app(engine, wechat_server):
    """The app with Stripe set up, so its webhook answers a bad signature with 400, not 503; and WeChat
    (a server on loopback), so a made-up log-in or phone code answers 401 or 422, not 503."""
    config = {
        **TEST_CONFIG,
        "ENGINE": engine,
        "STRIPE_SECRET_KEY": "sk_test_fuzz",
        "STRIPE_WEBHOOK_SECRET": "whsec_fuzz",
        "WECHAT_API_BASE": wechat_server.url,
        "WECHAT_APP_ID": WECHAT_APP_ID,
        "WECHAT_APP_SECRET": WECHAT_SECRET,
    }
    return create_app(config)


@pytest.fixture(scope="module")
def api_schema(app):
    return schemathesis.openapi.from_wsgi("/api/openapi.json", app)


@pytest.fixture
def tokens(make, session):
    """Headers of one user per role, with something in their scope to find."""
    supplier = make.supplier()
    hall = make.hall()
    sku = make.sku(price_fen=1_000)
    make.stock(hall, sku, 100)
    _org, member, approver, finance = make_org(make, session)
    users = {
        "buyer": make.user(Role.BUYER),
        "supplier_member": make.user((Role.SUPPLIER_MEMBER, supplier.id)),
        "certifier": make.certifier(FENGJIE),
        "hall_operator": make.operator(hall),
        "org_member": member,
        "org_approver": approver,
        "org_finance": finance,
        "admin": make.user(Role.ADMIN),
    }
    return {"anonymous": {}} | {role: make.headers(user) for role, user in users.items()}


def fuzz(api_schema, headers: dict) -> tuple[int, Counter, list[str]]:
    """Every operation with EXAMPLES valid and EXAMPLES invalid requests.

    Returns (operations, failures by kind, samples)."""
    kinds: Counter = Counter()
    samples: list[str] = []
    operations = 0
    for result in api_schema.get_all_operations():
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzz_operation(result.ok(), mode, headers, kinds, samples)
    return operations, kinds, samples


def fuzz_operation(operation, mode, headers: dict, kinds: Counter, samples: list[str]) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case):
        response = case.call(headers=headers)
        try:
            case.validate_response(response, checks=CHECKS)
        except (AssertionError, FailureGroup, Failure) as failure:  # counted, not raised
            for each in getattr(failure, "exceptions", [failure]):
                kind = getattr(each, "title", type(each).__name__)
                kinds[kind] += 1
                if len(samples) < 40:
                    body = response.text[:300].replace("\n", " ")
                    request = f"{case.method} {case.formatted_path} {case.query} {case.body!r:.200}"
                    samples.append(f"{request}: {kind}: {response.status_code} {body}")

    try:
        run()
    except Unsatisfiable:  # nothing to make invalid (an operation without input)
        assert mode == GenerationMode.NEGATIVE


@pytest.mark.parametrize("role", ROLES)
def test_every_operation_answers_as_declared(client, api_schema, tokens, role):
    operations, kinds, samples = fuzz(api_schema, tokens[role])
    assert operations > 100
    assert not kinds, f"{role}: {operations} operations, failures {dict(kinds)}\n" + "\n".join(samples)
