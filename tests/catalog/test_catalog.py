from datetime import timedelta

from shop import clock
from shop.auth.models import Role
from shop.catalog.models import BrandTier
from shop.certification import service as certification
from tests.factories import ANPING, FENGJIE, PINGAN, WUSHAN, YUZHONG


def _ids(client, query=""):
    body = client.get(f"/api/v1/products?size=100{query}").json
    return [p["id"] for p in body["items"]]


def test_supplier_member_creates_a_product_with_skus_and_labels(client, make):
    supplier = make.supplier()
    category = make.category()
    member = make.user((Role.SUPPLIER_MEMBER, supplier.id))
    body = {
        "supplier_id": supplier.id,
        "name": "奉节脐橙",
        "category_id": category.id,
        "origin_district_id": FENGJIE,
        "origin_township_id": ANPING,
        "images": ["https://img.example.com/1.jpg"],
        "labels": [{"kind": "geographical_indication", "certificate_no": "AGI00001"}],
        "skus": [{"code": "FJ-5KG", "price_fen": 6980, "unit": "box", "net_weight_g": 5000}],
    }
    created = client.post("/api/v1/products", json=body, headers=make.headers(member))
    assert created.status_code == 201
    product = created.json
    assert product["kind"] == "goods" and product["certification"] is None
    assert product["skus"][0]["price_fen"] == 6980
    assert product["origin_township"]["name"] == "安坪镇"
    # not certified: invisible to the public, visible to its supplier
    assert client.get(f"/api/v1/products/{product['id']}").status_code == 404
    own = client.get(f"/api/v1/suppliers/{supplier.id}/products", headers=make.headers(member)).json
    assert [p["id"] for p in own["items"]] == [product["id"]]


def test_a_service_product_is_a_product_of_kind_service(client, make):
    supplier = make.supplier(district_id=500156)
    product = make.product(supplier, kind="service", name="武隆民宿两日游")
    make.certified(product)
    assert client.get(f"/api/v1/products/{product.id}").json["kind"] == "service"
    assert _ids(client, "&kind=service") == [product.id]


def test_a_member_cannot_touch_another_suppliers_product(client, make):
    mine, theirs = make.supplier(), make.supplier()
    product = make.product(theirs)
    member = make.user((Role.SUPPLIER_MEMBER, mine.id))
    headers = make.headers(member)
    assert client.patch(f"/api/v1/products/{product.id}", json={"name": "x"}, headers=headers).status_code == 403
    sku = client.post(
        f"/api/v1/products/{product.id}/skus", json={"code": "X-1", "price_fen": 1, "unit": "kg"}, headers=headers
    )
    assert sku.status_code == 403
    assert client.patch(f"/api/v1/skus/{product.skus[0].id}", json={"price_fen": 1}, headers=headers).status_code == 403
    create = client.post(
        "/api/v1/products",
        headers=headers,
        json={"supplier_id": theirs.id, "name": "x", "category_id": make.category().id, "origin_district_id": FENGJIE},
    )
    assert create.status_code == 403
    assert client.get(f"/api/v1/suppliers/{theirs.id}/products", headers=headers).status_code == 403


def test_product_input_is_validated(client, make):
    supplier = make.supplier()
    headers = make.headers(make.user((Role.SUPPLIER_MEMBER, supplier.id)))
    bad = client.post(
        "/api/v1/products",
        headers=headers,
        json={
            "supplier_id": supplier.id,
            "name": "x",
            "category_id": make.category().id,
            "origin_district_id": FENGJIE,
            "origin_township_id": 12,  # a Wushan township
            "skus": [{"code": "A-1", "price_fen": 0, "unit": "kg"}],
        },
    )
    assert bad.status_code == 422
    assert "skus" in bad.json["error"]["details"]["fields"]
    wrong_township = client.post(
        "/api/v1/products",
        headers=headers,
        json={
            "supplier_id": supplier.id,
            "name": "x",
            "category_id": make.category().id,
            "origin_district_id": FENGJIE,
            "origin_township_id": 12,
        },
    )
    assert wrong_township.status_code == 422
    assert "origin_township_id" in wrong_township.json["error"]["details"]["fields"]
    float_price = client.post(
        f"/api/v1/products/{make.product(supplier).id}/skus",
        headers=headers,
        json={"code": "F-1", "price_fen": 9.99, "unit": "kg"},
    )
    assert float_price.status_code == 422


def test_sku_codes_are_unique(client, make):
    supplier = make.supplier()
    product = make.product(supplier)
    headers = make.headers(make.user((Role.SUPPLIER_MEMBER, supplier.id)))
    response = client.post(
        f"/api/v1/products/{product.id}/skus",
        headers=headers,
        json={"code": product.skus[0].code, "price_fen": 100, "unit": "kg"},
    )
    assert response.status_code == 409


def test_public_catalog_shows_only_products_in_force(client, make, session):
    in_force = make.certified().product
    pending = make.product()
    make.application(pending)
    in_window = make.certified(published_at=clock.now() - timedelta(days=1)).product
    expired = make.certified(published_at=clock.now() - timedelta(days=400), validity_days=365).product
    revoked_cert = make.certified()
    certification.revoke_certification(session, make.regulator(), revoked_cert.id, reason="spot check", now=clock.now())
    ids = _ids(client)
    assert in_force.id in ids
    assert not {pending.id, in_window.id, expired.id, revoked_cert.product_id} & set(ids)
    shown = client.get(f"/api/v1/products/{in_force.id}").json
    assert shown["certification"]["certificate_no"].startswith("CQXF-")
    for hidden in (pending.id, in_window.id, expired.id, revoked_cert.product_id):
        assert client.get(f"/api/v1/products/{hidden}").status_code == 404


def test_expiry_takes_effect_at_its_instant(client, make):
    cert = make.certified()
    just_before = cert.valid_until - timedelta(microseconds=1)
    with clock.frozen_at(just_before):
        assert client.get(f"/api/v1/products/{cert.product_id}").status_code == 200
        assert cert.product_id in _ids(client)
    with clock.frozen_at(cert.valid_until):
        assert client.get(f"/api/v1/products/{cert.product_id}").status_code == 404
        assert cert.product_id not in _ids(client)


def test_coming_into_force_at_the_end_of_the_objection_window(client, make):
    cert = make.certified(published_at=clock.now() - timedelta(days=1), objection_days=7)
    with clock.frozen_at(cert.valid_from - timedelta(seconds=1)):
        assert client.get(f"/api/v1/products/{cert.product_id}").status_code == 404
    with clock.frozen_at(cert.valid_from):
        assert client.get(f"/api/v1/products/{cert.product_id}").status_code == 200


def test_revocation_hides_the_product_at_once(client, make):
    cert = make.certified()
    certifier = make.certifier(cert.district_id)
    assert client.get(f"/api/v1/products/{cert.product_id}").status_code == 200
    revoked = client.post(
        f"/api/v1/certifications/{cert.id}/revoke",
        json={"reason": "failed inspection"},
        headers=make.headers(certifier),
    )
    assert revoked.status_code == 200 and revoked.json["effective_status"] == "revoked"
    assert client.get(f"/api/v1/products/{cert.product_id}").status_code == 404


def test_filters(client, make):
    fruit = make.category("Fruit")
    citrus = make.category("Citrus", parent=fruit)
    other = make.category("Other")
    regional = make.brand(BrandTier.REGIONAL_PUBLIC)
    orange = make.product(
        make.supplier(FENGJIE),
        category=citrus,
        price_fen=6980,
        township_id=PINGAN,
        brand_id=regional.id,
        labels=[{"kind": "green_food", "certificate_no": "G1"}],
    )
    plum = make.product(make.supplier(WUSHAN), category=fruit, price_fen=3000)
    city = make.product(make.supplier(YUZHONG), category=other, price_fen=500)
    for product in (orange, plum, city):
        make.certified(product)
    mine = {orange.id, plum.id, city.id}

    def ids(query):
        return set(_ids(client, query)) & mine

    assert ids(f"&category_id={fruit.id}") == {orange.id, plum.id}  # includes the sub-category
    assert ids(f"&category_id={citrus.id}") == {orange.id}
    assert ids(f"&district_id={WUSHAN}") == {plum.id}
    assert ids("&poverty_alleviated=true") == {orange.id, plum.id}
    assert ids("&poverty_alleviated=false") == {city.id}
    assert ids("&deep_poverty=true") == {orange.id}
    assert ids("&deep_poverty=false") == {plum.id, city.id}
    assert ids(f"&brand_id={regional.id}") == {orange.id}
    assert ids("&brand_tier=regional_public") == {orange.id}
    assert ids("&label=green_food") == {orange.id}
    assert ids("&price_min_fen=1000&price_max_fen=5000") == {plum.id}
    assert ids("&price_max_fen=500") == {city.id}
    bad = client.get("/api/v1/products?price_min_fen=10&price_max_fen=5")
    assert bad.status_code == 422 and "price_max_fen" in bad.json["error"]["details"]["fields"]
    assert client.get("/api/v1/products?label=shiny").status_code == 422


def test_sorts(client, make):
    products = [make.product(price_fen=price, name=name) for price, name in ((300, "b"), (100, "c"), (200, "a"))]
    for product in products:
        make.certified(product)
    mine = {p.id for p in products}

    def order(sort):
        return [pid for pid in _ids(client, f"&sort={sort}") if pid in mine]

    b, c, a = (p.id for p in products)
    assert order("price") == [c, a, b]
    assert order("-price") == [b, a, c]
    assert order("name") == [a, b, c]
    assert order("newest") == [a, c, b]


def test_product_list_runs_a_fixed_number_of_queries(client, make, count_queries):
    for _ in range(12):
        make.certified(make.product(labels=[{"kind": "organic", "certificate_no": "O1"}]))
    counts = []
    for size in (1, 5, 12):
        with count_queries() as counter:
            response = client.get(f"/api/v1/products?size={size}")
        assert len(response.json["items"]) == size
        counts.append(counter.count)
    assert counts[0] == counts[1] == counts[2], counts


def test_categories_and_brands(client, make):
    admin = make.user(Role.ADMIN)
    headers = make.headers(admin)
    root = client.post("/api/v1/categories", json={"name": "Fruit"}, headers=headers).json
    child = client.post(
        "/api/v1/categories", json={"name": "柑橘", "slug": "citrus-x", "parent_id": root["id"]}, headers=headers
    ).json
    assert child["path"] == f"/{root['id']}/{child['id']}/"
    assert client.post("/api/v1/categories", json={"name": "柑橘"}, headers=headers).status_code == 422
    brand = client.post(
        "/api/v1/brands", json={"name": "奉节脐橙X", "tier": "district_public", "district_id": FENGJIE}, headers=headers
    )
    assert brand.status_code == 201 and brand.json["tier"] == "district_public"
    supplier = make.supplier()
    member = make.headers(make.user((Role.SUPPLIER_MEMBER, supplier.id)))
    public = client.post("/api/v1/brands", json={"name": "Y", "tier": "regional_public"}, headers=member)
    assert public.status_code == 403
    own = client.post(
        "/api/v1/brands", json={"name": "Z", "tier": "enterprise", "supplier_id": supplier.id}, headers=member
    )
    assert own.status_code == 201
    assert client.post("/api/v1/categories", json={"name": "Nope"}, headers=member).status_code == 403
