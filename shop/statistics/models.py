"""Sales facts (one append-only row per sale, per channel) and the yearly guiding plan."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from shop.db import Base, enum_column, utcnow_column_default


class Channel(enum.StrEnum):
    ONLINE = "online"  # a shop order, completed
    HALL = "hall"
    COUNTER = "counter"  # staffed or a smart cabinet's session
    ZONE = "zone"
    BULK = "bulk"  # an organisation's bulk order of goods, when received
    VOUCHER = "voucher"  # a pickup voucher redeemed for goods
    PLATFORM_832 = "832"  # the national 832 platform, imported


class BuyerType(enum.StrEnum):
    INDIVIDUAL = "individual"
    UNION = "union"
    AGENCY = "agency"
    STATE_OWNED_ENTERPRISE = "state_owned_enterprise"
    HOSPITAL = "hospital"
    SCHOOL = "school"
    ENTERPRISE = "enterprise"
    SOCIAL_ORGANISATION = "social_organisation"


class SalesFact(Base):
    """One sale (or, with negative quantity and amount, one refund of a counted sale). Append-only:
    the database refuses UPDATE and DELETE. `source_key` names the row of the source it stands for,
    so writing it twice (a replay, a backfill) keeps one."""

    __tablename__ = "sales_facts"
    __table_args__ = (
        sa.Index("ix_sales_facts_year_channel", "year", "channel"),
        sa.Index("ix_sales_facts_district_day", "origin_district_id", "day"),
        sa.Index("ix_sales_facts_organisation_year", "organisation_id", "year"),
        sa.Index("ix_sales_facts_township_day", "origin_township_id", "day"),
        # a product's recent sales (monitoring's velocity)
        sa.Index("ix_sales_facts_product_day", "product_id", "day"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    source_key: Mapped[str] = mapped_column(sa.String(80), unique=True)
    occurred_at: Mapped[datetime]
    day: Mapped[date] = mapped_column(sa.Date, index=True)  # Asia/Shanghai
    year: Mapped[int] = mapped_column(sa.SmallInteger)
    quarter: Mapped[int] = mapped_column(sa.SmallInteger)
    month: Mapped[int] = mapped_column(sa.SmallInteger)
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, "sales_channel"))
    buyer_type: Mapped[BuyerType] = mapped_column(enum_column(BuyerType, "buyer_type"))
    organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"))
    location_id: Mapped[int | None] = mapped_column(sa.ForeignKey("locations.id"))
    product_id: Mapped[int | None] = mapped_column(sa.ForeignKey("products.id"))
    sku_id: Mapped[int | None] = mapped_column(sa.ForeignKey("skus.id"))
    supplier_id: Mapped[int | None] = mapped_column(sa.ForeignKey("suppliers.id"))
    category_id: Mapped[int | None] = mapped_column(sa.ForeignKey("categories.id"))
    origin_district_id: Mapped[int | None] = mapped_column(sa.ForeignKey("districts.id"))
    origin_township_id: Mapped[int | None] = mapped_column(sa.ForeignKey("townships.id"))
    deep_poverty: Mapped[bool] = mapped_column(default=False)
    # Counts toward reserved shares: certified in force at the sale, from a poverty-alleviated origin.
    eligible: Mapped[bool] = mapped_column(default=False)
    quantity: Mapped[int]
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    # The 832 platform's supplier and product as written in its records (no row of ours).
    external_supplier: Mapped[str | None] = mapped_column(sa.String(200))
    external_product: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow_column_default)


class PlanKind(enum.StrEnum):
    DISTRICT = "district"  # sales of the products of an origin district
    ORG_KIND = "org_kind"  # purchases by a kind of buyer
    CHANNEL = "channel"


class PlanTarget(Base):
    """年度指导性计划: one target of the year's guiding plan."""

    __tablename__ = "plan_targets"
    __table_args__ = (
        sa.UniqueConstraint("year", "kind", "key"),
        sa.CheckConstraint("target_fen > 0", name="target_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int]
    kind: Mapped[PlanKind] = mapped_column(enum_column(PlanKind, "plan_kind"))
    key: Mapped[str] = mapped_column(sa.String(40))  # a district id, a buyer type or a channel
    target_fen: Mapped[int] = mapped_column(sa.BigInteger)
    set_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    updated_at: Mapped[datetime]


class BulletinPeriod(enum.StrEnum):
    MONTH = "month"
    QUARTER = "quarter"


class Bulletin(Base):
    """定期通报: a numbered, immutable snapshot of the figures of one month or quarter against the plan.
    The database refuses UPDATE and DELETE."""

    __tablename__ = "bulletins"
    __table_args__ = (
        sa.UniqueConstraint("period", "year", "period_no"),
        sa.UniqueConstraint("year", "serial"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int]
    serial: Mapped[int]  # 第N期 of the year
    period: Mapped[BulletinPeriod] = mapped_column(enum_column(BulletinPeriod, "bulletin_period"))
    period_no: Mapped[int]  # the month (1-12) or the quarter (1-4)
    date_from: Mapped[date] = mapped_column(sa.Date)
    date_to: Mapped[date] = mapped_column(sa.Date)
    audience: Mapped[list] = mapped_column(sa.JSON)  # the roles that may read it
    figures: Mapped[dict] = mapped_column(sa.JSON)
    published_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    published_at: Mapped[datetime]

    @property
    def number(self) -> str:
        return f"{self.year}-{self.serial:03d}"


class FeedStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for its (next) attempt
    SENT = "sent"  # the hub acknowledged it
    FAILED = "failed"  # refused by the hub, or out of attempts: needs a person


class FeedBatch(Base):
    """The outbox of the feed to the national monitoring hub: one signed batch of facts, with its
    idempotent batch id (the hub keeps the first of any repeats), its attempts and back-off."""

    __tablename__ = "hub_feed_batches"
    __table_args__ = (sa.Index("ix_hub_feed_batches_status_next_attempt_at", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    fact_count: Mapped[int]
    body: Mapped[str] = mapped_column(sa.Text)  # the exact JSON that is signed and sent
    status: Mapped[FeedStatus] = mapped_column(enum_column(FeedStatus, "feed_status"), default=FeedStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class FeedItem(Base):
    """Which batch carries a fact: each fact travels in exactly one batch."""

    __tablename__ = "hub_feed_items"

    fact_id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), sa.ForeignKey("sales_facts.id"), primary_key=True
    )
    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("hub_feed_batches.id"), index=True)


# Rollups: the sales facts summed at a coarse grain by the worker (shop.statistics.rollups). A fact is
# in them when its id is at most the watermark; queries add the facts after it, read live. Ids that may
# be missing (a district, a township) are 0 here, so they can be part of the primary key.
class _RollupMeasures:
    quantity: Mapped[int] = mapped_column(sa.BigInteger)
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    facts: Mapped[int] = mapped_column(sa.BigInteger)


class SalesRollupMonth(_RollupMeasures, Base):
    """Per month, channel, buyer type and the two flags."""

    __tablename__ = "sales_rollup_months"

    year: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True)
    month: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True)
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, "sales_channel"), primary_key=True)
    buyer_type: Mapped[BuyerType] = mapped_column(enum_column(BuyerType, "buyer_type"), primary_key=True)
    deep_poverty: Mapped[bool] = mapped_column(primary_key=True)
    eligible: Mapped[bool] = mapped_column(primary_key=True)
    quarter: Mapped[int] = mapped_column(sa.SmallInteger)


class SalesRollupMonthDistrict(_RollupMeasures, Base):
    """Per month, origin district, channel, buyer type and the two flags."""

    __tablename__ = "sales_rollup_month_districts"
    __table_args__ = (sa.Index("ix_sales_rollup_month_districts_district_year", "district_id", "year", "month"),)

    year: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True)
    month: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True)
    district_id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, "sales_channel"), primary_key=True)
    buyer_type: Mapped[BuyerType] = mapped_column(enum_column(BuyerType, "buyer_type"), primary_key=True)
    deep_poverty: Mapped[bool] = mapped_column(primary_key=True)
    eligible: Mapped[bool] = mapped_column(primary_key=True)
    quarter: Mapped[int] = mapped_column(sa.SmallInteger)


class SalesRollupDayTownship(_RollupMeasures, Base):
    """Per day, origin district and township and the two flags."""

    __tablename__ = "sales_rollup_day_townships"
    __table_args__ = (sa.Index("ix_sales_rollup_day_townships_district_day", "district_id", "day"),)

    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    district_id: Mapped[int] = mapped_column(primary_key=True)
    township_id: Mapped[int] = mapped_column(primary_key=True)
    deep_poverty: Mapped[bool] = mapped_column(primary_key=True)
    eligible: Mapped[bool] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(sa.SmallInteger)
    quarter: Mapped[int] = mapped_column(sa.SmallInteger)
    month: Mapped[int] = mapped_column(sa.SmallInteger)


class RollupState(Base):
    """How far the rollups have folded the facts: every fact with an id at most `watermark` is in them,
    no later one is."""

    __tablename__ = "sales_rollup_state"

    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    watermark: Mapped[int] = mapped_column(sa.BigInteger)
    folded_at: Mapped[datetime | None]
