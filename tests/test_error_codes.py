"""Error codes a client can switch on: one class per code, codes as enums in each slice's errors
module, the same strings as before, and each operation's OpenAPI entry lists the codes it answers.

(That no operation answers a code its entry does not list is checked on every request of the whole
suite: see `error_codes_are_declared` in tests/conftest.py.)"""

import ast
import enum
import importlib
import json
import pathlib
import pkgutil
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from shop import create_app, error_docs
from shop.errors import DomainError
from tests.conftest import TEST_CONFIG

ROOT = pathlib.Path(__file__).parent.parent
PACKAGES = ("shop", "payments", "search")

# Every code a front end may have learnt before the codes became enums: none may disappear.
KNOWN_CODES = [
    "already_expired",
    "bad_credentials",
    "brand_taken",
    "budget_exists",
    "centre_exists",
    "certification_exists",
    "count_below_reserved",
    "coupon_buyer_limit",
    "coupon_code_taken",
    "coupon_used_up",
    "event_id_reused",
    "invalid_token",
    "invoice_exceeds_paid",
    "invoice_number_taken",
    "invoice_profile_missing",
    "login_taken",
    "no_lines",
    "not_a_counter",
    "not_delivery",
    "not_draft",
    "not_objectable",
    "not_payable",
    "not_pickup",
    "not_ready",
    "not_refundable",
    "not_renewable",
    "not_shipped",
    "objection_decided",
    "objection_window_closed",
    "order_too_large",
    "organisation_exists",
    "over_per_capita_cap",
    "pickup_locked",
    "reference_reused",
    "refund_exceeds_payment",
    "refund_exceeds_quantity",
    "renewal_exists",
    "reservation_not_sold",
    "reserved_batch_expired",
    "return_exceeds_sale",
    "rush_sale_buyer_limit",
    "rush_sale_sold_out",
    "self_removal",
    "self_revoke",
    "sku_code_taken",
    "slug_taken",
    "trace_code_mismatch",
    "uscc_taken",
    "bad_request",
    "cart_not_orderable",
    "conflict",
    "forbidden",
    "idempotency_key_reused",
    "illegal_transition",
    "insufficient_budget",
    "insufficient_points",
    "invalid_event",
    "invalid_input",
    "invalid_signature",
    "lines_not_orderable",
    "lines_rejected",
    "location_inactive",
    "no_budget",
    "not_certified",
    "not_found",
    "offer_unavailable",
    "organisation_not_verified",
    "out_of_stock",
    "payment_gateway_error",
    "payment_gateway_not_configured",
    "payment_gateway_unavailable",
    "payment_in_progress",
    "unauthenticated",
    "voucher_not_redeemable",
    "wrong_pickup_code",
    "token_expired",
    "token_revoked",
    "invalid_counter_key",
    "counter_key_required",
    "coupon_not_valid_now",
    "coupon_minimum_not_reached",
]


def _all_modules():
    for name in PACKAGES:
        package = importlib.import_module(name)
        yield package
        for info in pkgutil.walk_packages(package.__path__, name + "."):
            yield importlib.import_module(info.name)


def _error_classes() -> list[type[DomainError]]:
    list(_all_modules())
    found, pending = [], [DomainError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return [cls for cls in found if cls.__module__.split(".")[0] in PACKAGES]


def _code_enums() -> list[type[enum.StrEnum]]:
    return [
        value
        for module in _all_modules()
        if module.__name__ == "shop.errors" or module.__name__.endswith(".errors")
        for value in vars(module).values()
        if isinstance(value, type) and issubclass(value, enum.StrEnum) and value.__module__ == module.__name__
    ]


def test_every_error_class_lives_in_an_errors_module_with_codes_from_an_enum():
    enums = set(_code_enums())
    for cls in _error_classes():
        assert cls.__module__ == "shop.errors" or cls.__module__.endswith(".errors"), cls
        for code in cls.codes:
            assert type(code) in enums, f"{cls.__name__}: {code!r} is not a member of a slice's code enum"


def test_a_code_string_means_one_thing():
    owners: dict[str, list[str]] = {}
    for code_enum in _code_enums():
        for member in code_enum:
            owners.setdefault(member.value, []).append(code_enum.__name__)
    assert {code: names for code, names in owners.items() if len(names) > 1} == {}


def test_codes_stay_stable():
    declared = {member.value for code_enum in _code_enums() for member in code_enum}
    assert set(KNOWN_CODES) - declared == set()


def test_no_raise_site_picks_a_code_inline():
    """A code belongs to its class: no `SomeError(..., code=...)` anywhere, and the class refuses one."""
    offenders = []
    for name in PACKAGES:
        for path in (ROOT / name).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                inline = isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)
                if inline and any(keyword.arg == "code" for keyword in node.exc.keywords):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []
    with pytest.raises(TypeError):
        DomainError("no", code="made_up")


def _codes(spec: dict, path: str, method: str, status: int) -> set[str]:
    response = spec["paths"][path][method]["responses"][str(status)]
    return set(response["content"]["application/json"]["schema"]["properties"]["error"]["properties"]["code"]["enum"])


def test_each_operation_lists_the_codes_it_can_answer_per_status(client):
    spec = client.get("/api/openapi.json").json
    checkout = "/api/v1/orders", "post"
    assert {"out_of_stock", "rush_sale_sold_out", "coupon_used_up", "idempotency_key_reused"} <= _codes(
        spec, *checkout, 409
    )
    assert _codes(spec, *checkout, 401) == {"unauthenticated", "invalid_token", "token_expired", "token_revoked"}
    assert _codes(spec, *checkout, 422) >= {"invalid_input"}
    # reached through the view's helper that picks the service function by name
    assert {"no_lines", "order_too_large", "illegal_transition"} <= _codes(
        spec, "/api/v1/procurement/bulk-orders/{order_id}/submit", "post", 409
    )
    # a code raised in a decorator of ours (the counter key check)
    assert _codes(spec, "/api/v1/counters/{counter_id}/sales", "post", 401) >= {
        "counter_key_required",
        "invalid_counter_key",
    }
    # and none of another slice's that the operation cannot reach
    assert "wrong_pickup_code" not in _codes(spec, "/api/v1/categories", "post", 409)
    assert _codes(spec, "/api/v1/categories", "post", 409) == {"slug_taken"}


def test_readers_of_a_fresh_spec_in_parallel_all_see_every_code(engine):
    """The codes are declared when the spec is first written out; requests that ask for it at once
    wait for the whole declaration, never write out an operation another has not declared yet."""
    fresh = create_app({**TEST_CONFIG, "ENGINE": engine})
    for cached in (error_docs.raised_errors, error_docs._functions_in_file):
        cached.cache_clear()  # the declaration reads the code again: slow enough to overlap
    start = threading.Barrier(4)

    def read(_):
        start.wait()
        return json.dumps(fresh.test_client().get("/api/openapi.json").json, sort_keys=True)

    with ThreadPoolExecutor(max_workers=4) as pool:
        specs = list(pool.map(read, range(4)))
    assert len(set(specs)) == 1
    assert _codes(json.loads(specs[0]), "/api/v1/categories", "post", 409) == {"slug_taken"}
