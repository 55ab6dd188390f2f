"""The embedded backend's fast paths give the plain answer: the one-pass scan (total, facets and page
in Python), the bounded path (COUNT, the page ordered in SQL or read from an index, facets over the
first SEARCH_FACET_SCAN_LIMIT matches, flagged) and the exact group-by per facet all agree."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
import sqlalchemy as sa

from search.backend import FACETS, SearchQuery
from search.boosts import boosts
from search.embedded_backend import EmbeddedBackend, sort_buckets
from search.models import SearchDocument
from search.outbox import enqueue_moved, refresh_embedded
from shop import clock
from shop.catalog import service as catalog
from shop.catalog.models import LabelKind, Sku
from shop.certification.query import product_in_force
from tests.factories import ANPING, FENGJIE, PINGAN, WUSHAN, YUZHONG

D = SearchDocument.__table__
NAMES = ["脐橙 navel oranges", "脆李 crisp plums", "蜂蜜 honey", "腊肉 cured pork"]
LABELS = [k.value for k in LabelKind]


@pytest.fixture
def shop(make, session):
    rng = random.Random(5)
    categories = [make.category(f"c{i}") for i in range(3)]
    suppliers = [make.supplier(d) for d in (FENGJIE, WUSHAN, YUZHONG)]
    ids = []
    for n in range(30):
        supplier = suppliers[n % 3]
        township = rng.choice([None, ANPING, PINGAN]) if supplier.district_id == FENGJIE else None
        prices = rng.sample(range(500, 20_000, 100), rng.choice([1, 2, 3, 4]))
        product = catalog.create_product(
            session,
            make.admin,
            supplier_id=supplier.id,
            data={
                "name": f"{NAMES[n % 4]} {n}",
                "category_id": categories[n % 3].id,
                "origin_district_id": supplier.district_id,
                "origin_township_id": township,
                "skus": [{"code": f"P{n}-{i}", "price_fen": p, "unit": "box"} for i, p in enumerate(prices)],
                "labels": [{"kind": k, "certificate_no": "x"} for k in LABELS if rng.random() < 0.4],
            },
        )
        if n % 7 == 0:
            # an old certification that expired, then a current one after a gap
            make.certified(product, published_at=clock.now() - timedelta(days=400), validity_days=30)
        if n % 5 != 4:
            make.certified(product)
        elif n % 10 == 4 and n % 7:
            make.certified(product, published_at=clock.now() - timedelta(days=400), validity_days=30)  # expired
        ids.append(product.id)
    enqueue_moved(session)
    refresh_embedded(session)
    return {"categories": categories, "ids": ids}


def _queries(shop, now, app) -> list[SearchQuery]:
    rules = boosts(app.config)
    path = shop["categories"][1].path
    variants = [
        {},
        {"text": "oranges"},
        {"text": "脐橙"},
        {"text": "hony"},
        {"district_ids": [FENGJIE]},
        {"district_ids": [WUSHAN], "labels": ["organic"]},
        {"labels": ["green_food", "organic"], "poverty_alleviated": True},
        {"price_min": 3000, "price_max": 9000},
        {"price_min": 12000},
        {"text": "plums", "price_max": 8000, "district_ids": [WUSHAN, YUZHONG]},
        {"category_path": path, "deep_poverty": False},
        {"brand_tiers": ["regional_public"]},
    ]
    queries = []
    for variant in variants:
        for sort in ("relevance", "price", "-price", "sales", "newest"):
            for page in (1, 2):
                queries.append(SearchQuery(now=now, sort=sort, page=page, size=4, boosts=rules, **variant))
    return queries


def test_the_one_pass_scan_and_the_bounded_path_agree_on_total_and_page(app, session, shop):
    now = clock.now()
    for query in _queries(shop, now, app):
        exact = EmbeddedBackend(session, facet_scan_limit=10_000).search(query)
        assert exact.facets_exact is True
        # 1: COUNT and the page ordered in SQL; 6: often few enough matches of every filter to be
        # read whole and ordered here while the facets' wider set passes the limit
        for limit in (1, 6):
            bounded = EmbeddedBackend(session, facet_scan_limit=limit).search(query)
            assert [h.id for h in exact.hits] == [h.id for h in bounded.hits], query
            # past the limit the total may be estimated (a sample; PostgreSQL's planner), and says so
            assert exact.total == bounded.total or bounded.total_is_estimate, query
            if _unfiltered(query):
                # no text, no filter: the unfiltered snapshot, exact whatever the limit
                assert bounded.facets_exact is True and bounded.facets == exact.facets
            elif exact.total > limit and not query.text:
                # (a text's matches are bounded by SEARCH_TEXT_CANDIDATES instead: see the tests below)
                assert bounded.facets_exact is False
        without = EmbeddedBackend(session, facet_scan_limit=10_000).search(query, facets=False)
        assert [h.id for h in without.hits] == [h.id for h in exact.hits]
        assert without.total == exact.total or without.total_is_estimate
        assert without.facets == {}


def test_a_text_ranked_over_few_candidates_keeps_filters_and_force_and_flags_what_it_bounded(app, session, shop):
    """With fewer candidates than matches: the page is the exact page (every match is ordered, not
    only the candidates), every hit in force and passing every filter, and wherever the total or
    the facets differ from the exact answer, the answer says so."""
    now = clock.now()
    in_force = set(session.scalars(sa.select(D.c.product_id).where(product_in_force(D.c.product_id, now))))
    texts = ["oranges", "脐橙", "hony", "plums", "navel", "qc"]
    bounded_seen = 0
    for query in _queries(shop, now, app):
        for text in texts:
            query = SearchQuery(**{**query.__dict__, "text": text})
            exact = EmbeddedBackend(session, text_candidates=10_000).search(query)
            assert not exact.total_is_estimate and exact.facets_exact
            everything = EmbeddedBackend(session, text_candidates=10_000).search(
                SearchQuery(**{**query.__dict__, "page": 1, "size": 100})
            )
            rank = {hit.id: n for n, hit in enumerate(everything.hits)}
            for candidates in (1, 3, 7):
                found = EmbeddedBackend(session, text_candidates=candidates).search(query)
                ids = [hit.id for hit in found.hits]
                assert set(ids) <= in_force, query
                assert set(ids) <= set(rank), query  # every filter applied
                assert ids == [hit.id for hit in exact.hits], query
                if found.total != exact.total:
                    assert found.total_is_estimate, query
                if found.facets != exact.facets:
                    assert not found.facets_exact, query
                bounded_seen += found.total_is_estimate
    assert bounded_seen


def test_a_text_with_more_matches_than_candidates_is_flagged(app, session, shop):
    now = clock.now()
    query = SearchQuery(now=now, text="oranges", size=1)
    exact = EmbeddedBackend(session).search(query)
    assert exact.total > 3 and not exact.total_is_estimate and exact.facets_exact
    found = EmbeddedBackend(session, text_candidates=3).search(query)
    assert found.total_is_estimate and not found.facets_exact and len(found.hits) == 1
    # a page past the end: the total is at most the offset, and said to be estimated
    past = EmbeddedBackend(session, text_candidates=3).search(SearchQuery(now=now, text="oranges", size=1, page=7))
    assert past.hits == [] and past.total_is_estimate and past.total <= 6
    # the page ran out before its end: the total is known
    found = EmbeddedBackend(session, text_candidates=3).search(SearchQuery(now=now, text="oranges", size=100))
    assert not found.total_is_estimate and not found.facets_exact and found.total == exact.total
    assert [hit.id for hit in found.hits] == [
        hit.id for hit in EmbeddedBackend(session).search(SearchQuery(now=now, text="oranges", size=100)).hits
    ]


def test_bounded_facets_are_flagged_and_exact_ones_equal_the_group_by(app, session, shop):
    now = clock.now()
    for query in _queries(shop, now, app):
        if query.text or query.page > 1:
            continue
        exact = EmbeddedBackend(session, facet_scan_limit=10_000).search(query)
        assert exact.facets_exact
        assert exact.facets == _plain_facets(session, query), query
        bounded = EmbeddedBackend(session, facet_scan_limit=2).search(query)
        if _unfiltered(query):
            assert bounded.facets_exact is True and bounded.facets == exact.facets
            continue
        if _lone_facet_filter(query) and exact.total <= 2:
            # only the matches of its one filter are scanned: within the limit
            assert bounded.facets_exact is True and bounded.facets == exact.facets
            continue
        assert bounded.facets_exact is False
        for name, buckets in bounded.facets.items():
            if name == _lone_facet_filter(query):
                # its counts ignore its own filter: the unfiltered snapshot's, exact
                assert buckets == exact.facets[name]
            else:
                assert sum(n for _v, n in buckets) <= 2 * (len(LABELS) if name == "label" else 1)


def test_in_force_and_price_filters_read_from_the_row_equal_the_tables(session, shop):
    now = clock.now()
    in_force = set(session.scalars(sa.select(D.c.product_id).where(product_in_force(D.c.product_id, now))))
    result = EmbeddedBackend(session).search(SearchQuery(now=now, size=100))
    assert {h.id for h in result.hits} == in_force
    assert result.total == len(in_force)
    for low, high in ((3000, 9000), (None, 4000), (15000, None)):
        conditions = [Sku.product_id == D.c.product_id, Sku.is_active]
        conditions += [Sku.price_fen >= low] if low is not None else []
        conditions += [Sku.price_fen <= high] if high is not None else []
        expected = set(
            session.scalars(
                sa.select(D.c.product_id).where(product_in_force(D.c.product_id, now), sa.exists().where(*conditions))
            )
        )
        found = EmbeddedBackend(session).search(SearchQuery(now=now, size=100, price_min=low, price_max=high))
        assert {h.id for h in found.hits} == expected


def test_a_certification_gap_is_out_of_force_inside_it_and_in_force_after(session, shop):
    gapped = session.scalars(sa.select(D.c.product_id).where(D.c.cert_gaps)).all()
    assert gapped
    row = session.execute(sa.select(D.c.cert_from).where(D.c.product_id == gapped[0])).one()
    inside_gap = row.cert_from + timedelta(days=100)
    found = EmbeddedBackend(session).search(SearchQuery(now=inside_gap, size=100))
    assert gapped[0] not in {h.id for h in found.hits}
    found = EmbeddedBackend(session).search(SearchQuery(now=clock.now(), size=100))
    assert gapped[0] in {h.id for h in found.hits}


def _unfiltered(query: SearchQuery) -> bool:
    return query == SearchQuery(now=query.now, sort=query.sort, page=query.page, size=query.size, boosts=query.boosts)


def _lone_facet_filter(query: SearchQuery) -> str | None:
    """The facet of the query's one filter, when it has no text and no other filter."""
    facets = {
        "category_id": query.category_path is not None,
        "district_id": bool(query.district_ids),
        "brand_tier": bool(query.brand_tiers),
        "label": bool(query.labels),
        "poverty_alleviated": query.poverty_alleviated is not None,
        "deep_poverty": query.deep_poverty is not None,
    }
    others = query.text or query.price_min is not None or query.price_max is not None
    named = [name for name, on in facets.items() if on]
    return named[0] if len(named) == 1 and not others else None


def _plain_facets(session, query: SearchQuery) -> dict:
    """The plain answer: one GROUP BY per facet over every match, with the tables' own rules."""
    base = [product_in_force(D.c.product_id, query.now)]
    if query.price_min is not None or query.price_max is not None:
        conditions = [Sku.product_id == D.c.product_id, Sku.is_active]
        if query.price_min is not None:
            conditions.append(Sku.price_fen >= query.price_min)
        if query.price_max is not None:
            conditions.append(Sku.price_fen <= query.price_max)
        base.append(sa.exists().where(*conditions))
    facet = {}
    if query.category_path is not None:
        facet["category_id"] = D.c.category_path.startswith(query.category_path)
    if query.district_ids:
        facet["district_id"] = D.c.district_id.in_(query.district_ids)
    if query.brand_tiers:
        facet["brand_tier"] = D.c.brand_tier.in_(query.brand_tiers)
    if query.labels:
        facet["label"] = sa.or_(*(D.c.labels.contains(f" {k} ") for k in query.labels))
    if query.poverty_alleviated is not None:
        facet["poverty_alleviated"] = D.c.poverty_alleviated == query.poverty_alleviated
    if query.deep_poverty is not None:
        facet["deep_poverty"] = D.c.deep_poverty == query.deep_poverty
    result = {}
    for name in FACETS:
        where = base + [c for key, c in facet.items() if key != name]
        if name == "label":
            buckets = []
            for kind in LABELS:
                n = session.scalar(sa.select(sa.func.count()).where(*where, D.c.labels.contains(f" {kind} ")))
                if n:
                    buckets.append((kind, n))
        else:
            stmt = sa.select(D.c[name], sa.func.count()).where(*where).group_by(D.c[name])
            buckets = [(v, n) for v, n in session.execute(stmt) if v is not None]
        result[name] = sort_buckets(buckets)
    return result
