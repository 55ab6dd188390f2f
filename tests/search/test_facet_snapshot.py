"""The unfiltered count and facets are kept per index state, and a new state is a new answer: a
document's facet column changed, a product added or revoked, or a certification boundary passed.
Each answer is compared with the plain count over the tables at that instant."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from search import facet_snapshot
from search.backend import SearchQuery
from search.embedded_backend import EmbeddedBackend
from search.models import SearchDocument
from search.outbox import rebuild_embedded, refresh_embedded
from shop import clock
from shop.catalog import service as catalog
from shop.certification import service as certification
from shop.certification.query import product_in_force
from tests.factories import FENGJIE, WUSHAN

D = SearchDocument.__table__


def _unfiltered(session, now):
    # a scan limit of 1: only the snapshot can make these facets exact
    return EmbeddedBackend(session, facet_scan_limit=1).search(SearchQuery(now=now, size=50))


def _plain(session, now) -> tuple[int, dict]:
    rows = session.execute(
        sa.select(D.c.product_id, D.c.category_id, D.c.district_id).where(product_in_force(D.c.product_id, now))
    ).all()
    categories: dict = {}
    for row in rows:
        categories[row.category_id] = categories.get(row.category_id, 0) + 1
    return len(rows), categories


def _check(session, now):
    result = _unfiltered(session, now)
    total, categories = _plain(session, now)
    assert result.facets_exact is True
    assert result.total == total == len(result.hits)
    assert dict(result.facets["category_id"]) == categories
    return result


def test_a_changed_facet_column_and_a_revocation_are_counted_by_the_next_search(make, session):
    now = clock.now()
    first, second = make.category("c1"), make.category("c2")
    products = [make.product(make.supplier(d), category=first) for d in (FENGJIE, WUSHAN)]
    certs = [make.certified(p) for p in products]
    refresh_embedded(session)
    assert _check(session, now).total == 2
    key = facet_snapshot.state(session, now)
    assert _unfiltered(session, now).facets == _unfiltered(session, now).facets

    # the same documents again (as a sale's rebuild would): the state is kept
    rebuild_embedded(session, [p.id for p in products])
    assert facet_snapshot.state(session, now) == key

    # the certification boundaries are the same: only the token can tell the snapshot is stale
    catalog.update_product(session, make.admin, products[0].id, data={"category_id": second.id})
    refresh_embedded(session)
    assert facet_snapshot.state(session, now) != key
    assert dict(_check(session, now).facets["category_id"]) == {first.id: 1, second.id: 1}

    certifier = make.actor(make.certifier(WUSHAN))
    certification.revoke_certification(session, certifier, certs[1].id, reason="fraud", now=clock.now())
    refresh_embedded(session)
    later = clock.now()
    result = _check(session, later)
    assert (result.total, [h.id for h in result.hits]) == (1, [products[0].id])


def test_a_certification_entering_and_leaving_force_changes_the_count_at_its_instant(make, session):
    lasting = make.product(make.supplier(FENGJIE))
    make.certified(lasting)
    ending = make.product(make.supplier(WUSHAN))
    # in force from a day ago for two days
    ends = make.certified(ending, published_at=clock.now() - timedelta(days=8), validity_days=2)
    starting = make.product(make.supplier(FENGJIE))
    # its objection window ends in a week: in force from then
    starts = make.certified(starting, published_at=clock.now(), objection_days=7)
    refresh_embedded(session)
    session.refresh(ends)
    session.refresh(starts)
    assert ends.valid_until < starts.valid_from

    now = clock.now()
    assert {h.id for h in _check(session, now).hits} == {lasting.id, ending.id}
    before_end = ends.valid_until - timedelta(microseconds=1)
    assert {h.id for h in _check(session, before_end).hits} == {lasting.id, ending.id}
    assert {h.id for h in _check(session, ends.valid_until).hits} == {lasting.id}
    assert {h.id for h in _check(session, starts.valid_from - timedelta(microseconds=1)).hits} == {lasting.id}
    assert {h.id for h in _check(session, starts.valid_from).hits} == {lasting.id, starting.id}
    # and back in time: the earlier state's answer again
    assert {h.id for h in _check(session, now).hits} == {lasting.id, ending.id}
