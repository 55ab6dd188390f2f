"""One behavioural suite, run against the embedded backend and against the engine (osmem): the same
queries, filters, facets, sorts, pinyin, suggestions and in-force rule give the same products."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from search.backend import Boost, SearchQuery
from search.elasticsearch_backend import search_body
from shop import clock
from shop.catalog import service as catalog
from shop.catalog.models import BrandTier, ProductKind
from shop.certification import service as certification
from tests.factories import ANPING, FENGJIE, PINGAN, WUSHAN, YUZHONG

T0 = clock.now().replace(microsecond=0) - timedelta(days=60)


@pytest.fixture
def corpus(make, session, index):
    admin = make.admin
    fruit = make.category("水果")
    citrus = make.category("柑橘", parent=fruit)
    veg = make.category("蔬菜")
    travel = make.category("乡村旅游")
    fj = make.supplier(FENGJIE, name="安坪合作社")
    ws = make.supplier(WUSHAN, name="曲尺合作社")
    yz = make.supplier(YUZHONG, name="渝中商行")
    regional = catalog.create_brand(
        session, admin, name="巴味渝珍", tier=BrandTier.REGIONAL_PUBLIC, district_id=None, supplier_id=None
    )
    wushan_brand = catalog.create_brand(
        session, admin, name="巫山好物", tier=BrandTier.DISTRICT_PUBLIC, district_id=WUSHAN, supplier_id=None
    )

    def product(key, supplier, name, category, prices, minutes, **extra):
        with clock.frozen_at(T0 + timedelta(minutes=minutes)):
            p = catalog.create_product(
                session,
                admin,
                supplier_id=supplier.id,
                data={
                    "name": name,
                    "category_id": category.id,
                    "origin_district_id": supplier.district_id,
                    "skus": [
                        {"code": f"{key}-{i}", "price_fen": price, "unit": "box"} for i, price in enumerate(prices)
                    ],
                    **extra,
                },
            )
        return p

    p = {}
    p["orange"] = product(
        "OR",
        fj,
        "奉节脐橙 Fengjie navel oranges",
        citrus,
        [6980, 12800],
        1,
        origin_township_id=ANPING,
        brand_id=regional.id,
        description="果大皮薄 sweet and juicy",
        labels=[
            {"kind": "geographical_indication", "certificate_no": "AGI1"},
            {"kind": "green_food", "certificate_no": "G1"},
        ],
    )
    p["plum"] = product(
        "PL",
        ws,
        "巫山脆李 crisp plums",
        fruit,
        [5980],
        2,
        brand_id=wushan_brand.id,
        labels=[{"kind": "green_food", "certificate_no": "G2"}],
    )
    p["city_orange"] = product("CO", yz, "渝中橙子 city oranges", citrus, [1500], 3)
    p["deep_orange"] = product(
        "DO",
        fj,
        "平安脐橙 Ping'an navel oranges",
        citrus,
        [500, 9000],
        4,
        origin_township_id=PINGAN,
        labels=[{"kind": "organic", "certificate_no": "O1"}],
    )
    p["pepper"] = product("PE", ws, "石柱辣椒 chili peppers", veg, [2500], 5)
    p["homestay"] = product("HS", ws, "巫山民宿 mountain homestay", travel, [30000], 6, kind=ProductKind.SERVICE)
    for key in ("orange", "plum", "city_orange", "deep_orange", "pepper", "homestay"):
        make.certified(p[key])
    # Products that must never be found, though their names match.
    p["uncertified"] = product("UN", fj, "奉节脐橙 uncertified", citrus, [100], 7)
    p["in_window"] = product("IW", fj, "脐橙 objection window", citrus, [100], 8)
    make.certified(p["in_window"], published_at=clock.now() - timedelta(days=1))
    p["expired"] = product("EX", fj, "脐橙 expired", citrus, [100], 9)
    make.certified(p["expired"], published_at=clock.now() - timedelta(days=400), validity_days=30)
    p["revoked"] = product("RV", fj, "脐橙 revoked", citrus, [100], 10)
    cert = make.certified(p["revoked"])
    certification.revoke_certification(session, make.regulator(), cert.id, reason="fake", now=clock.now())
    index.refresh()
    ids = {key: product.id for key, product in p.items()}
    ids["categories"] = {"fruit": fruit.id, "citrus": citrus.id, "veg": veg.id, "travel": travel.id}
    return ids


def _search(client, index, query: str = "", **params):
    params.setdefault("size", 100)
    response = client.get("/api/v1/search", query_string={"q": query, **params})
    assert response.status_code == 200, response.json
    body = response.json
    assert body["degraded"] is False
    assert body["backend"] == ("elasticsearch" if index.name == "engine" else "embedded")
    return body


def _found(client, corpus, index, query: str = "", **params) -> set[str]:
    names = {v: k for k, v in corpus.items() if isinstance(v, int)}
    return {names[item["id"]] for item in _search(client, index, query, **params)["items"]}


def _order(client, corpus, index, query: str = "", **params) -> list[str]:
    names = {v: k for k, v in corpus.items() if isinstance(v, int)}
    return [names[item["id"]] for item in _search(client, index, query, **params)["items"]]


IN_FORCE = {"orange", "plum", "city_orange", "deep_orange", "pepper", "homestay"}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", IN_FORCE),
        ("脐橙", {"orange", "deep_orange"}),
        ("橙", {"orange", "deep_orange", "city_orange"}),
        ("奉节脐橙", {"orange"}),
        ("奉节 脐橙", {"orange", "deep_orange"}),
        ("ＦＥＮＧＪＩＥ", {"orange", "deep_orange"}),
        ("巴味渝珍", {"orange"}),
        ("柑橘", {"orange", "deep_orange", "city_orange"}),
        ("曲尺合作社", {"plum", "pepper", "homestay"}),
        ("脐橙 wushan", set()),
        ("xyzzy", set()),
    ],
)
def test_chinese_and_mixed_text(client, corpus, index, query, expected):
    assert _found(client, corpus, index, query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("qicheng", {"orange", "deep_orange"}),
        ("qc", {"orange", "deep_orange"}),
        ("QiCheng", {"orange", "deep_orange"}),
        ("fengjieqicheng", {"orange"}),
        ("wushan", {"plum", "pepper", "homestay"}),
        ("cuili", {"plum", "pepper"}),  # 脆李, and "chili" is one typo away
    ],
)
def test_pinyin_full_and_initials(client, corpus, index, query, expected):
    assert _found(client, corpus, index, query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("navel", {"orange", "deep_orange"}),
        ("navle", {"orange", "deep_orange"}),  # a transposition
        ("oranges", {"orange", "deep_orange", "city_orange"}),
        ("orangs", {"orange", "deep_orange", "city_orange"}),
        ("plumz", {"plum"}),
        ("juicy sweet", {"orange"}),
        ("ab", set()),  # too short for any typo
    ],
)
def test_latin_text_tolerates_typos(client, corpus, index, query, expected):
    assert _found(client, corpus, index, query) == expected


def test_filters(client, corpus, index):
    cats = corpus["categories"]
    found = lambda **params: _found(client, corpus, index, **params)  # noqa: E731
    assert found(district_id=WUSHAN) == {"plum", "pepper", "homestay"}
    assert found(district_id=[FENGJIE, YUZHONG]) == {"orange", "deep_orange", "city_orange"}
    assert found(poverty_alleviated="false") == {"city_orange"}
    assert found(deep_poverty="true") == {"deep_orange"}
    assert found(brand_tier="regional_public") == {"orange"}
    assert found(brand_tier=["regional_public", "district_public"]) == {"orange", "plum"}
    assert found(label="organic") == {"deep_orange"}
    assert found(label=["green_food", "organic"]) == {"orange", "plum", "deep_orange"}
    assert found(category_id=cats["fruit"]) == {"orange", "plum", "city_orange", "deep_orange"}
    assert found(category_id=cats["citrus"]) == {"orange", "city_orange", "deep_orange"}
    # some active SKU within both bounds: 500 and 9000 are not "within 1000–2000"
    assert found(price_min_fen=1000, price_max_fen=2000) == {"city_orange"}
    assert found(price_min_fen=8000, price_max_fen=10000) == {"deep_orange"}
    assert found(price_min_fen=20000) == {"homestay"}
    assert found(kind="service") == {"homestay"}
    assert _found(client, corpus, index, "oranges", district_id=FENGJIE, label="organic") == {"deep_orange"}


def _facet(body, name):
    return {bucket["value"]: bucket["count"] for bucket in body["facets"][name]}


def test_facets_keep_their_own_counts_when_a_value_is_chosen(client, corpus, index):
    body = _search(client, index, district_id=WUSHAN)
    assert body["total"] == 3
    assert _facet(body, "district_id") == {FENGJIE: 2, WUSHAN: 3, YUZHONG: 1}
    assert _facet(body, "label") == {"green_food": 1}
    assert _facet(body, "poverty_alleviated") == {True: 3}
    assert _facet(body, "brand_tier") == {"district_public": 1}
    body = _search(client, index, "橙", label="organic")
    assert _facet(body, "label") == {"organic": 1, "green_food": 1, "geographical_indication": 1}
    assert _facet(body, "district_id") == {FENGJIE: 1}
    assert _facet(body, "deep_poverty") == {True: 1}
    cats = corpus["categories"]
    body = _search(client, index, category_id=cats["citrus"])
    assert _facet(body, "category_id") == {cats["citrus"]: 3, cats["fruit"]: 1, cats["veg"]: 1, cats["travel"]: 1}
    assert [b["value"] for b in body["facets"]["category_id"]] == [
        cats["citrus"],
        *sorted([cats["fruit"], cats["veg"], cats["travel"]]),
    ]


def test_sorts(client, corpus, index):
    order = lambda **params: _order(client, corpus, index, **params)  # noqa: E731
    by_price = ["deep_orange", "city_orange", "pepper", "plum", "orange", "homestay"]
    assert order(sort="price") == by_price
    assert order(sort="-price") == list(reversed(by_price))
    assert order(sort="newest") == ["homestay", "pepper", "deep_orange", "city_orange", "plum", "orange"]
    assert order(sort="sales") == sorted(IN_FORCE, key=lambda k: corpus[k])  # nothing sold yet: by id
    assert order(q="oranges", sort="price") == ["deep_orange", "city_orange", "orange"]


def test_the_engine_scores_with_boosts_only_when_relevance_orders():
    # a function_score under another sort changes no order but costs the engine a pass per hit
    rules = (Boost("poverty_alleviated", 1.5),)
    now = clock.now()
    for sort in ("price", "-price", "sales", "newest"):
        assert "function_score" not in search_body(SearchQuery(now=now, text="honey", sort=sort, boosts=rules))["query"]
    assert "function_score" in search_body(SearchQuery(now=now, text="honey", boosts=rules))["query"]


def test_relevance_boosts_poverty_alleviated_and_deep_poverty_origins(client, corpus, index, app):
    # with no text every score is 1, so the boosts alone order: deep-poverty township (1.5 × 2),
    # poverty-alleviated district (1.5), the rest; ties by id
    order = _order(client, corpus, index, sort="relevance")
    assert order == ["deep_orange", "orange", "plum", "pepper", "homestay", "city_orange"]
    config = app.config
    saved = config["SEARCH_BOOST_POVERTY_ALLEVIATED"], config["SEARCH_BOOST_DEEP_POVERTY"]
    try:
        config["SEARCH_BOOST_POVERTY_ALLEVIATED"], config["SEARCH_BOOST_DEEP_POVERTY"] = 1.0, 1.0
        assert _order(client, corpus, index) == sorted(IN_FORCE, key=lambda k: corpus[k])
        config["SEARCH_BOOST_POVERTY_ALLEVIATED"] = 0.5
        assert _order(client, corpus, index)[-1] == "homestay"
    finally:
        config["SEARCH_BOOST_POVERTY_ALLEVIATED"], config["SEARCH_BOOST_DEEP_POVERTY"] = saved


def test_relevance_with_identical_text_follows_the_boosts(client, make, session, index):
    made = []
    for district, township in ((YUZHONG, None), (WUSHAN, None), (FENGJIE, PINGAN)):
        product = make.product(make.supplier(district, name="蜂蜜坊"), name="土蜂蜜 honey", township_id=township)
        make.certified(product)
        made.append(product.id)
    index.refresh()
    for query in ("蜂蜜", "honey", "fengmi"):
        body = _search(client, index, query)
        assert [item["id"] for item in body["items"]] == list(reversed(made)), query


def test_highlight(client, corpus, index):
    body = _search(client, index, "脐橙")
    marked = {item["id"]: item["highlight"].get("name", "") for item in body["items"]}
    assert "<em>脐橙</em>" in marked[corpus["orange"]]
    body = _search(client, index, "navle")
    marked = {item["id"]: item["highlight"].get("name", "") for item in body["items"]}
    assert "<em>navel</em>" in marked[corpus["orange"]]
    body = _search(client, index, "脐橙", highlight="false")
    assert all(item["highlight"] == {} for item in body["items"])


def test_paging(client, corpus, index):
    pages = [_search(client, index, sort="price", size=4, page=n) for n in (1, 2, 3)]
    assert [p["total"] for p in pages] == [6, 6, 6]
    ids = [item["id"] for p in pages for item in p["items"]]
    assert len(ids) == 6 and len(set(ids)) == 6
    assert pages[2]["items"] == []
    assert _search(client, index, facets="false")["facets"] == {}


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("qich", {"orange", "deep_orange"}),
        ("qc", {"orange", "deep_orange"}),
        ("脐", {"orange", "deep_orange"}),
        ("奉节", {"orange"}),
        ("fj", {"orange"}),
        ("巴味", {"orange"}),
        ("wu", {"plum", "homestay"}),
        ("Navel", {"orange", "deep_orange"}),
        ("zzz", set()),
    ],
)
def test_suggest_by_prefix_in_chinese_or_pinyin_only_in_force(client, corpus, index, prefix, expected):
    response = client.get("/api/v1/search/suggest", query_string={"q": prefix})
    assert response.status_code == 200
    assert response.json["degraded"] is False
    names = {v: k for k, v in corpus.items() if isinstance(v, int)}
    assert {names[item["product_id"]] for item in response.json["items"]} == expected
    for item in response.json["items"]:
        assert item["text"]


def test_expiry_and_coming_into_force_take_effect_at_their_instant_without_reindex(client, corpus, index, session):
    from shop.certification.models import Certification

    orange = session.query(Certification).filter_by(product_id=corpus["orange"]).one()
    window = session.query(Certification).filter_by(product_id=corpus["in_window"]).one()

    def suggested():
        return [item["product_id"] for item in client.get("/api/v1/search/suggest?q=qc").json["items"]]

    with clock.frozen_at(orange.valid_until - timedelta(seconds=1)):
        assert "orange" in _found(client, corpus, index, "脐橙")
        assert corpus["orange"] in suggested()
    with clock.frozen_at(orange.valid_until):
        assert "orange" not in _found(client, corpus, index, "脐橙")
        assert corpus["orange"] not in suggested()
    with clock.frozen_at(window.valid_from + timedelta(seconds=1)):
        assert "in_window" in _found(client, corpus, index, "脐橙")


def test_revocation_and_withdrawal_reach_search_through_the_outbox(client, corpus, index, session, make):
    from shop.certification.models import Certification

    cert = session.query(Certification).filter_by(product_id=corpus["orange"]).one()
    certification.revoke_certification(session, make.regulator(), cert.id, reason="fraud", now=clock.now())
    index.refresh()
    assert _found(client, corpus, index, "脐橙") == {"deep_orange"}
    assert corpus["orange"] not in [i["product_id"] for i in client.get("/api/v1/search/suggest?q=qc").json["items"]]


def test_catalog_changes_reach_search(client, corpus, index, session, make):
    from shop.catalog.models import Brand, Sku

    sku = session.query(Sku).filter_by(product_id=corpus["pepper"]).one()
    catalog.update_sku(session, make.admin, sku.id, data={"price_fen": 100})
    catalog.update_product(session, make.admin, corpus["plum"], data={"name": "巫山脆李 crunchy plums"})
    brand = session.query(Brand).filter_by(name="巴味渝珍").one()
    brand.name = "渝味珍品"
    session.flush()
    index.refresh()
    assert _order(client, corpus, index, sort="price")[0] == "pepper"
    assert _found(client, corpus, index, "crunchy") == {"plum"}
    assert _found(client, corpus, index, "巴味渝珍") == set()
    assert _found(client, corpus, index, "渝味珍品") == {"orange"}


def _first_sku(session, product_id):
    from shop.catalog.models import Sku

    return session.query(Sku).filter_by(product_id=product_id).order_by(Sku.id).first()


def _pay_with_points(client, make, session, sku, location, quantity):
    from shop.points import service as points
    from shop.points.models import PointsKind

    buyer = make.user()
    points.post(session, buyer.id, 1_000_000, PointsKind.ADJUST, note="test")
    headers = make.headers(buyer)
    line = {"sku_id": sku.id, "quantity": quantity, "fulfilment": "pickup", "location_id": location.id}
    assert client.post("/api/v1/cart/lines", headers=headers, json=line).status_code == 201
    order = client.post("/api/v1/orders", headers=headers, json={}).json
    paid = client.post(f"/api/v1/orders/{order['id']}/payments", headers=headers, json={"gateway": "points"})
    assert paid.status_code in (200, 201), paid.json
    return client.get(f"/api/v1/orders/{order['id']}", headers=headers).json


def test_sales_of_completed_orders_and_counter_sales_order_the_sales_sort(client, corpus, index, session, make):
    from shop.auth.models import Role
    from shop.inventory import movements

    hall = make.hall()
    counter = make.counter(hall)
    operator = make.operator(hall)
    skus = {key: _first_sku(session, corpus[key]) for key in ("pepper", "plum", "city_orange", "deep_orange")}
    for sku in skus.values():
        make.stock(counter, sku, 50)
    index.refresh()
    assert _order(client, corpus, index, sort="sales") == sorted(IN_FORCE, key=lambda k: corpus[k])
    # over the counter: 5 peppers in two sales
    for units in (2, 3):
        movements.record_sale(
            session,
            make.actor(operator),
            counter.id,
            lines=[{"sku_id": skus["pepper"].id, "quantity": units}],
            reference=None,
            now=clock.now(),
        )
    # completed orders: 3 plums, 9 city oranges (6 of them refunded afterwards)
    done = {}
    for key, units in (("plum", 3), ("city_orange", 9)):
        order = _pay_with_points(client, make, session, skus[key], counter, units)
        headers = make.headers(operator)
        assert client.post(f"/api/v1/orders/{order['id']}/ready", headers=headers).status_code == 200
        pickup = client.post(
            f"/api/v1/orders/{order['id']}/pickup", headers=headers, json={"code": order["pickup_code"]}
        )
        assert pickup.status_code == 200 and pickup.json["status"] == "completed"
        done[key] = pickup.json
    # paid, never picked up: not a sale yet
    _pay_with_points(client, make, session, skus["deep_orange"], counter, 20)
    index.refresh()
    assert _order(client, corpus, index, sort="sales")[:3] == ["city_orange", "pepper", "plum"]

    order = done["city_orange"]
    refund = client.post(
        f"/api/v1/orders/{order['id']}/refunds",
        headers=make.headers(make.user(Role.ADMIN)),
        json={"lines": [{"line_id": order["lines"][0]["id"], "quantity": 6}], "reason": "bruised"},
    )
    assert refund.status_code == 201, refund.json
    index.refresh()
    sales = {item["id"]: item["sales_count"] for item in _search(client, index, sort="sales")["items"]}
    assert sales == {corpus[k]: {"pepper": 5, "plum": 3, "city_orange": 3}.get(k, 0) for k in IN_FORCE}
    # ties by id
    assert _order(client, corpus, index, sort="sales") == [
        "pepper",
        "plum",
        "city_orange",
        *sorted(IN_FORCE - {"pepper", "plum", "city_orange"}, key=lambda k: corpus[k]),
    ]


def test_in_stock_filter_and_availability(client, corpus, index, session, make):
    from shop.inventory.models import china_today

    hall = make.hall()
    counter = make.counter(hall)
    today = china_today(clock.now())
    skus = {key: _first_sku(session, corpus[key]) for key in ("pepper", "orange", "plum", "deep_orange")}
    make.stock(counter, skus["pepper"], 5)
    make.stock(hall, skus["orange"], 5, best_before=today + timedelta(days=3))
    make.stock(make.centre(), skus["plum"], 5)  # the centre is no pick-up point
    make.stock(counter, skus["deep_orange"], 2)
    index.refresh()
    assert _found(client, corpus, index, in_stock="true") == {"pepper", "orange", "deep_orange"}
    _pay_with_points(client, make, session, skus["deep_orange"], counter, 2)  # every unit reserved, then sold
    index.refresh()
    assert _found(client, corpus, index, in_stock="true") == {"pepper", "orange"}
    assert _found(client, corpus, index, in_stock="false") == IN_FORCE - {"pepper", "orange"}
    items = {item["id"]: item["in_stock"] for item in _search(client, index)["items"]}
    assert items == {corpus[key]: key in {"pepper", "orange"} for key in IN_FORCE}
    assert _found(client, corpus, index, "脐橙", in_stock="true") == {"orange"}
    # the orange's only batch passes its best-before day: out of stock with no reindex
    with clock.frozen_at(clock.now() + timedelta(days=4)):
        assert _found(client, corpus, index, in_stock="true") == {"pepper"}
        items = {item["id"]: item["in_stock"] for item in _search(client, index)["items"]}
        assert items[corpus["orange"]] is False
    # the counter closes: its stock is no longer available anywhere
    from shop.inventory import locations

    locations.update_location(session, make.admin, counter.id, data={"is_active": False})
    index.refresh()
    assert _found(client, corpus, index, in_stock="true") == {"orange"}


def test_a_gap_between_certifications_is_out_of_force_inside_it_only(client, make, session, index):
    from shop.certification.models import Certification

    product = make.product()
    make.certified(product, published_at=clock.now() - timedelta(days=400), validity_days=30)
    make.certified(product)
    index.refresh()
    first, second = sorted(session.query(Certification).filter_by(product_id=product.id), key=lambda c: c.valid_from)
    assert first.valid_until < second.valid_from

    def found() -> bool:
        return product.id in {item["id"] for item in _search(client, index)["items"]}

    for instant, expected in [
        (first.valid_from - timedelta(seconds=1), False),
        (first.valid_from, True),
        (first.valid_until - timedelta(seconds=1), True),
        (first.valid_until, False),
        (second.valid_from - timedelta(seconds=1), False),
        (second.valid_from, True),
        (second.valid_until, False),
    ]:
        with clock.frozen_at(instant):
            assert found() is expected, instant


@pytest.mark.parametrize("params", [{"q": "脐橙"}, {"q": "navle", "sort": "price"}, {"facets": "false"}, {"size": 2}])
def test_the_answer_is_what_the_documented_schema_dumps(client, corpus, index, app, params):
    """The view builds the answer itself, bypassing the schema's dump: both must agree."""
    from webargs.flaskparser import parser

    from search import extension, service
    from search.schemas import SearchArgs, SearchPageSchema
    from shop.request_session import get_session
    from shop.web import PageArgs

    with clock.frozen_at(clock.now()):
        response = client.get("/api/v1/search", query_string=params)
        with app.test_request_context("/api/v1/search", query_string=params):
            args = parser.parse(SearchArgs(), location="query")
            paging = parser.parse(PageArgs(), location="query")
            ext = extension()
            query = service.query_from_args(
                get_session(), ext, args, page=paging["page"], size=paging["size"], now=clock.now()
            )
            answer = service.search_products(get_session(), ext, query, facets=args["facets"])
    result = answer.result
    expected = SearchPageSchema().dump(
        {
            "items": [{**hit.source, "highlight": hit.highlight} for hit in result.hits],
            "page": paging["page"],
            "size": paging["size"],
            "total": result.total,
            "facets": {
                name: [{"value": value, "count": count} for value, count in buckets]
                for name, buckets in result.facets.items()
            },
            "facets_exact": result.facets_exact,
            "total_is_estimate": result.total_is_estimate,
            "degraded": answer.degraded,
            "backend": result.backend,
        }
    )
    assert response.status_code == 200
    assert response.json == json.loads(json.dumps(expected))
    assert response.json["items"]
