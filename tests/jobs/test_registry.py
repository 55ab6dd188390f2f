"""Every job the registry holds runs once, by the runner the worker uses, on a quiet database: a job
that cannot even start (a stale import, a setting it misreads) fails here, not in production."""

import pytest

from shop.jobs import builtin, runner
from shop.jobs.registry import JOBS

# test-only jobs register themselves when the tests' jobs module is imported by a worker
BUILT_IN = sorted(name for name, job in JOBS.items() if job.func.__module__ == builtin.__name__)


@pytest.mark.parametrize("name", BUILT_IN)
def test_each_built_in_job_runs_once_without_error(app, session, name):
    runner.run(app, name)


def test_the_periodic_duties_are_registered():
    wanted = {"search.sync", "orders.expire", "vouchers.expire", "points.expire", "payments.reconcile"}
    wanted |= {"alerts.low_stock", "alerts.stale_counters", "checks.ledgers"}
    assert wanted <= set(JOBS)
