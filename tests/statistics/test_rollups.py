"""Rollups of the sales facts: answers from a rollup plus the facts after its watermark equal answers
from the facts alone, for any grouping, filters, period and scope, before and after the worker folds
and with facts written after it; the fold is incremental, idempotent and folds each fact once even
when two run at once or a writer is still in flight; the check command compares rollups with facts."""

import itertools
import threading
import time
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shop import clock
from shop.auth.actor import Actor
from shop.auth.models import Role
from shop.db import transaction
from shop.inventory.models import CHINA
from shop.jobs import runner
from shop.reference.models import District, Township
from shop.statistics import queries, rollups
from shop.statistics.models import BuyerType, Channel, RollupState, SalesFact, SalesRollupMonth

REGULATOR = Actor(user_id=1, grants=frozenset({(Role.REGULATOR, 0)}))
FIRST_DAY = date(2024, 11, 1)
DAYS = 800  # to early 2027: three calendar years, so year-on-year has something to compare
keys = itertools.count()


def _places(session) -> list[tuple[int | None, int | None, bool]]:
    """(district, township, deep poverty) as facts carry them: the reference townships, a few
    districts without a township, and a fact of no known origin."""
    towns = session.execute(sa.select(Township.id, Township.district_id, Township.deep_poverty).order_by(Township.id))
    places = [(d, t, bool(deep)) for t, d, deep in towns]
    districts = session.scalars(sa.select(District.id).order_by(District.id).limit(3))
    return [*places[:8], *((d, None, False) for d in districts), (None, None, False)]


def _add(session, places, facts) -> None:
    rows = []
    for day_no, place, channel, buyer, eligible, quantity, amount in facts:
        day = FIRST_DAY + timedelta(days=day_no)
        district, township, deep = places[place % len(places)]
        rows.append(
            {
                "source_key": f"rollup-test:{next(keys)}",
                "occurred_at": datetime(day.year, day.month, day.day, 4, tzinfo=UTC),
                "day": day,
                "year": day.year,
                "quarter": (day.month - 1) // 3 + 1,
                "month": day.month,
                "channel": channel,
                "buyer_type": buyer,
                "origin_district_id": district,
                "origin_township_id": township,
                "deep_poverty": deep,
                "eligible": eligible,
                "quantity": quantity,
                "amount_fen": amount,
            }
        )
    if rows:
        session.execute(sa.insert(SalesFact), rows)


def _fold(session) -> tuple[int, int]:
    return rollups.fold_step(session, rollups.horizon(session), clock.now())


def _month(n: int) -> date:
    """The first day of the n-th month from FIRST_DAY's."""
    return date(FIRST_DAY.year + (FIRST_DAY.month - 1 + n) // 12, (FIRST_DAY.month - 1 + n) % 12 + 1, 1)


# Days anywhere, and days near the turn of a month, where whole-month rollups meet the facts.
near_month_start = st.builds(
    lambda n, offset: _month(n) + timedelta(days=offset), st.integers(12, 16), st.integers(-1, 2)
)
fact = st.tuples(
    st.one_of(st.integers(0, DAYS - 1), near_month_start.map(lambda day: (day - FIRST_DAY).days)),
    st.integers(0, 20),
    st.sampled_from(list(Channel)),
    st.sampled_from(list(BuyerType)),
    st.booleans(),
    st.integers(-3, 6),  # refunds are negative facts
    st.integers(-5000, 20000),
)
DIMS = ["district", "township", "deep_poverty", "eligible", "channel", "buyer_type", "product"]
ROLLED = ["district", "deep_poverty", "eligible", "channel", "buyer_type"]  # in the month rollups


@st.composite
def query(draw):
    kind = draw(st.sampled_from(["whole months", "month edges", "any days"]))
    if kind == "whole months":  # which the month rollups cover
        first = draw(st.integers(2, 24))
        date_from, date_to = _month(first), _month(first + draw(st.integers(1, 14))) - timedelta(days=1)
    elif kind == "month edges":  # whole months from a rollup, the days at the ends from the facts
        date_from = draw(near_month_start)
        date_to = draw(near_month_start.filter(lambda day: day >= date_from))
    else:
        date_from = FIRST_DAY + timedelta(days=draw(st.integers(0, DAYS)))
        date_to = date_from + timedelta(days=draw(st.integers(0, 400)))
    filters = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "channel": st.sampled_from(list(Channel)),
                "buyer_type": st.lists(st.sampled_from(list(BuyerType)), min_size=1, max_size=3),
                "eligible": st.booleans(),
                "deep_poverty": st.booleans(),
                "district_id": st.sampled_from([500101, 500237, 500238, 500242]),
            },
        )
    )
    return {
        "group_by": draw(st.lists(st.sampled_from(draw(st.sampled_from([DIMS, ROLLED]))), unique=True, max_size=3)),
        "period": draw(st.sampled_from(list(queries.PERIODS))),
        "date_from": date_from,
        "date_to": date_to,
        "filters": filters,
        "year_on_year": draw(st.booleans()),
    }


def _same_answers(session, actor, asked: list[dict]) -> None:
    for a in asked:
        assert queries.sales_totals(session, actor, **a) == queries.sales_totals(session, actor, **a, from_facts=True)
    period = {"date_from": asked[0]["date_from"], "date_to": asked[0]["date_to"]}
    assert queries.deep_poverty_check(session, actor, **period) == queries.deep_poverty_check(
        session, actor, **period, from_facts=True
    )


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    first=st.lists(fact, max_size=40),
    later=st.lists(fact, max_size=10),
    asked=st.lists(query(), min_size=1, max_size=3),
    certifier=st.booleans(),
)
def test_rollups_and_the_live_facts_answer_as_the_facts_do(session, first, later, asked, certifier):
    actor = REGULATOR
    if certifier:
        actor = Actor(user_id=2, grants=frozenset({(Role.CERTIFIER, 500101), (Role.CERTIFIER, 500238)}))
    savepoint = session.begin_nested()
    try:
        places = _places(session)
        _add(session, places, first)
        _same_answers(session, actor, asked)  # nothing folded: all live
        _fold(session)
        _same_answers(session, actor, asked)  # all folded
        _add(session, places, later)
        _same_answers(session, actor, asked)  # folded, and written since
        assert rollups.check(session) == []
        _fold(session)
        _same_answers(session, actor, asked)
        assert rollups.check(session) == []
    finally:
        savepoint.rollback()


def test_queries_read_the_smallest_rollup_that_covers_them():
    year = (date(2026, 1, 1), date(2026, 12, 31))
    assert rollups.covering({"channel"}, "month", *year).name == "sales_rollup_months"
    assert rollups.covering({"district", "channel"}, "quarter", *year).name == "sales_rollup_month_districts"
    assert rollups.covering({"township", "deep_poverty"}, "day", *year).name == "sales_rollup_day_townships"
    assert rollups.covering({"district"}, "all", date(2026, 1, 5), date(2026, 3, 4)).name.endswith("day_townships")
    assert rollups.covering({"channel"}, "all", date(2026, 1, 5), date(2026, 3, 4)) is None  # days, no channel
    # …but its whole month (February) comes from a month rollup, the days at either end from the facts
    split = rollups.plan({"channel"}, "all", date(2026, 1, 5), date(2026, 3, 4))
    assert (split.rollup.name, split.date_from, split.date_to) == (
        "sales_rollup_months",
        date(2026, 2, 1),
        date(2026, 2, 28),
    )
    assert split.edges == ((date(2026, 1, 5), date(2026, 1, 31)), (date(2026, 3, 1), date(2026, 3, 4)))
    assert rollups.plan({"channel"}, "all", date(2026, 1, 5), date(2026, 2, 4)) is None  # no whole month
    assert rollups.plan({"channel"}, "day", date(2026, 1, 5), date(2026, 3, 4)) is None
    assert rollups.covering({"product"}, "month", *year) is None
    assert rollups.covering({"organisation"}, "year", *year) is None


def test_a_query_answers_from_the_rollup_plus_the_facts_after_its_watermark(session):
    places = _places(session)
    _add(session, places, [(400, 0, Channel.HALL, BuyerType.UNION, True, 2, 1000)])
    _fold(session)
    # A refund written after the fold, on today's date, counts at once.
    today = clock.now().astimezone(CHINA).date()
    _add(session, places, [((today - FIRST_DAY).days, 0, Channel.HALL, BuyerType.UNION, True, -1, -400)])
    asked = dict(group_by=["channel"], period="all", filters={}, date_from=date(2024, 1, 1), date_to=date(2030, 12, 31))
    total = queries.sales_totals(session, REGULATOR, **asked)
    assert [(r["quantity"], r["amount_fen"], r["facts"]) for r in total] == [(1, 600, 2)]
    # Proof that it reads the rollup: a change there (never done outside this test) shows in the answer.
    session.execute(sa.update(SalesRollupMonth).values(amount_fen=SalesRollupMonth.amount_fen + 1))
    assert queries.sales_totals(session, REGULATOR, **asked)[0]["amount_fen"] == 601
    assert queries.sales_totals(session, REGULATOR, **asked, from_facts=True)[0]["amount_fen"] == 600
    [drift] = rollups.check(session)
    assert drift.rollup == "sales_rollup_months" and (drift.amount_fen, drift.facts) == (1, 0)


def test_the_fold_is_incremental_and_idempotent(session):
    places = _places(session)
    _add(session, places, [(10, 1, Channel.ONLINE, BuyerType.INDIVIDUAL, True, 1, 100)] * 3)
    before, after = _fold(session)
    assert after > before
    rows = session.execute(sa.select(SalesRollupMonth.facts)).scalars().all()
    assert _fold(session) == (after, after)  # nothing new: nothing done
    assert session.execute(sa.select(SalesRollupMonth.facts)).scalars().all() == rows
    _add(session, places, [(10, 1, Channel.ONLINE, BuyerType.INDIVIDUAL, True, 1, 100)])
    assert _fold(session)[0] == after
    assert session.scalar(sa.select(sa.func.sum(SalesRollupMonth.facts))) == 4
    assert rollups.check(session) == []


def test_the_worker_job_and_the_command_fold_and_rebuild(app, session):
    places = _places(session)
    _add(session, places, [(5, 2, Channel.BULK, BuyerType.AGENCY, True, 4, 4000)])
    outcome = runner.run(app, "statistics.rollups")
    mark = session.scalar(sa.select(RollupState.watermark))
    assert mark == session.scalar(sa.select(sa.func.max(SalesFact.id))) == outcome["to"]
    cli = app.test_cli_runner()
    rebuilt = cli.invoke(args=["statistics", "rollups", "--rebuild"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert f"to {mark}" in rebuilt.output
    assert rollups.check(session) == []
    session.execute(sa.update(SalesRollupMonth).values(quantity=SalesRollupMonth.quantity + 2))
    checked = cli.invoke(args=["statistics", "check"])
    assert checked.exit_code == 1 and "rollup sales_rollup_months" in checked.output


def _commit_facts(factory, places, facts) -> None:
    with transaction(factory) as session:
        _add(session, places, facts)


def test_a_fact_still_being_written_is_folded_once_it_commits_and_two_folds_fold_once(committed_app):
    factory = committed_app.extensions["shop"]["sessionmaker"]
    with factory() as session:
        places = _places(session)
    one = [(30, 3, Channel.COUNTER, BuyerType.SCHOOL, True, 1, 700)]
    _commit_facts(factory, places, one * 5)
    # A writer takes an id and holds its transaction open while a later fact commits.
    slow = factory()
    _add(slow, places, one)
    slow.flush()
    _commit_facts(factory, places, one)
    release = threading.Timer(0.5, slow.commit)
    release.start()
    started = time.monotonic()
    outcomes = []
    folds = [threading.Thread(target=lambda: outcomes.append(rollups.refresh(factory, clock.now()))) for _ in range(2)]
    for t in folds:
        t.start()
    for t in folds:
        t.join()
    release.join()
    slow.close()
    assert time.monotonic() - started >= 0.4  # the folds waited for the writer
    with factory() as session:
        assert rollups.check(session) == []
        assert session.scalar(sa.select(sa.func.sum(SalesRollupMonth.facts))) == 7
        mark = rollups.watermark(session)
        assert mark == session.scalar(sa.select(sa.func.max(SalesFact.id)))
    assert [o["to"] for o in outcomes] == [mark, mark]


def test_a_range_of_part_months_reads_the_whole_months_from_a_rollup_and_the_ends_from_the_facts(session):
    places = _places(session)
    first_day = (date(2026, 1, 5) - FIRST_DAY).days
    # facts on the head days, in the whole month, on the tail days, and just outside the range
    days = [first_day - 1, first_day, first_day + 26, first_day + 27, first_day + 54, first_day + 58, first_day + 59]
    _add(session, places, [(d, 0, Channel.ZONE, BuyerType.HOSPITAL, True, 1, 100 + d) for d in days])
    _fold(session)
    _add(session, places, [(first_day + 30, 0, Channel.ZONE, BuyerType.HOSPITAL, True, -1, -50)])  # live
    asked = dict(group_by=["channel"], period="month", filters={}, date_from=date(2026, 1, 5), date_to=date(2026, 3, 4))
    assert rollups.plan({"channel"}, "month", asked["date_from"], asked["date_to"]).edges
    answer = queries.sales_totals(session, REGULATOR, **asked)
    assert answer == queries.sales_totals(session, REGULATOR, **asked, from_facts=True)
    assert [(r["period"], r["facts"]) for r in answer] == [("2026-01", 2), ("2026-02", 3), ("2026-03", 1)]
