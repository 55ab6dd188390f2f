from __future__ import annotations

from flask import Response
from flask_smorest import Blueprint

from shop import clock
from shop.auth.guard import current_actor, login_required
from shop.request_session import get_session
from shop.settings import current
from shop.statistics import bulletins, feed, plan, platform832, queries
from shop.statistics.queries import FILTERS
from shop.statistics.schemas import (
    BulletinArgs,
    BulletinListSchema,
    BulletinSchema,
    ChartsSchema,
    ExportArgs,
    FeedStatusSchema,
    Import832Args,
    Import832Schema,
    PeriodArgs,
    PlanArgs,
    PlanSchema,
    ProgressSchema,
    SalesQueryArgs,
    SalesSchema,
    TownshipCheckPageSchema,
)
from shop.web import documented_errors

blp = Blueprint(
    "statistics", __name__, url_prefix="/api/v1/statistics", description="Sales statistics and the yearly plan"
)


@blp.route("/sales", methods=["GET"])
@blp.arguments(SalesQueryArgs, location="query")
@blp.response(200, SalesSchema)
@documented_errors(403)
@login_required
def sales(args):
    """Totals of sales facts grouped by dimensions and period, filtered, with year-on-year change. A
    certifier sees its districts' products, an organisation its own purchases. A query of more than
    `STATISTICS_MAX_GROUPS` groups (10,000 unless configured) is refused with 422 `too_many_groups`."""
    filters = {name: args.pop(name) for name in list(args) if name in FILTERS}
    rows = queries.sales_totals(
        get_session(), current_actor(), filters=filters, max_groups=current().statistics_max_groups, **args
    )
    return {"items": rows}


@blp.route("/deep-poverty-townships", methods=["GET"])
@blp.arguments(PeriodArgs, location="query")
@blp.response(200, TownshipCheckPageSchema)
@documented_errors(403)
@login_required
def deep_poverty(args):
    """只增不减: each deep-poverty township's sales against the same period a year before."""
    return {"items": queries.deep_poverty_check(get_session(), current_actor(), **args)}


@blp.route("/plans/<int:year>", methods=["PUT"])
@blp.arguments(PlanArgs)
@blp.response(200, PlanSchema)
@documented_errors(403, 404)
@login_required
def set_plan(args, year):
    """The coordinator enters or changes targets of the year's guiding plan."""
    targets = plan.set_targets(get_session(), current_actor(), year, targets=args["targets"], now=clock.now())
    return {"year": year, "targets": targets}


@blp.route("/plans/<int:year>/progress", methods=["GET"])
@blp.response(200, ProgressSchema)
@documented_errors(403, 404)
@login_required
def plan_progress(year):
    """Each target of the year with the amount sold toward it, its share and the pace."""
    return plan.progress(get_session(), current_actor(), year, now=clock.now())


@blp.route("/organisations/<int:organisation_id>/platform-832-imports", methods=["POST"])
@blp.arguments(Import832Args, location="files")
@blp.response(201, Import832Schema)
@documented_errors(404)
@login_required
def import_832(files, organisation_id):
    """The organisation's approver or finance, or the coordinator: import the organisation's purchase
    records from the national 832 platform. One bad cell and nothing is imported (422
    `import_rejected` naming row and column); order numbers imported before are skipped."""
    upload = files["file"]
    return platform832.import_records(
        get_session(),
        current_actor(),
        organisation_id,
        filename=upload.filename or "",
        data=upload.read(),
        now=clock.now(),
    )


@blp.route("/bulletins", methods=["POST"])
@blp.arguments(BulletinArgs)
@blp.response(201, BulletinSchema)
@documented_errors(403, 409)
@login_required
def publish_bulletin(args):
    """The coordinator publishes the bulletin of a month or quarter: a numbered snapshot of the figures
    that never changes (409 `bulletin_exists` for a period published already)."""
    return bulletins.publish(get_session(), current_actor(), now=clock.now(), **args)


@blp.route("/bulletins", methods=["GET"])
@blp.response(200, BulletinListSchema)
@login_required
def list_bulletins():
    """The bulletins the caller's roles may read, newest first."""
    return {"items": bulletins.list_bulletins(get_session(), current_actor())}


@blp.route("/bulletins/<int:bulletin_id>", methods=["GET"])
@blp.response(200, BulletinSchema)
@documented_errors(404)
@login_required
def get_bulletin(bulletin_id):
    """One bulletin with its figures."""
    return bulletins.get_bulletin(get_session(), current_actor(), bulletin_id)


@blp.route("/bulletins/<int:bulletin_id>/charts", methods=["GET"])
@blp.response(200, ChartsSchema)
@documented_errors(404)
@login_required
def bulletin_charts(bulletin_id):
    """Each figure as an ECharts option (chart-ready JSON)."""
    return {"options": bulletins.echarts(bulletins.get_bulletin(get_session(), current_actor(), bulletin_id))}


@blp.route("/bulletins/<int:bulletin_id>/export", methods=["GET"])
@blp.arguments(ExportArgs, location="query")
@blp.doc(
    responses={
        "200": {
            "description": "XLSX with a native chart per figure, or CSV (UTF-8 with a BOM)",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                bulletins.XLSX: {"schema": {"type": "string", "format": "binary"}},
            },
        }
    }
)
@documented_errors(404)
@login_required
def export_bulletin(args, bulletin_id):
    """The bulletin as XLSX (a sheet and a native chart per figure) or CSV."""
    bulletin = bulletins.get_bulletin(get_session(), current_actor(), bulletin_id)
    name = f"bulletin-{bulletin.number}.{args['format']}"
    if args["format"] == "csv":
        body, mimetype = bulletins.to_csv(bulletin), "text/csv; charset=utf-8"
    else:
        body, mimetype = bulletins.to_xlsx(bulletin), bulletins.XLSX
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@blp.route("/feed", methods=["GET"])
@blp.response(200, FeedStatusSchema)
@documented_errors(403)
@login_required
def feed_status():
    """The coordinator, regulators and admins: the feed to the national monitoring hub at a glance."""
    return feed.status(get_session(), current_actor())
