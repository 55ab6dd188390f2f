"""预留份额: an organisation's yearly pledge of assistance purchases, its revisions, its completion.

Completion is counted from the sales facts (shop.statistics): purchases of certified products from
eligible origins in every channel, vouchers by the value redeemed."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from shop.auth.actor import Actor
from shop.errors import InvalidInput, NotFound
from shop.procurement import access
from shop.procurement.access import APPROVER, FINANCE
from shop.procurement.models import Pledge, PledgeRevision
from shop.statistics import queries as statistics


def completed_fen(session: Session, organisation_id: int, fiscal_year: int) -> int:
    return statistics.completed_fen(session, organisation_id, fiscal_year)


FISCAL_YEARS = range(2000, 2101)  # the years a pledge (and a budget) may be filed for


def file_pledge(
    session: Session, actor: Actor, organisation_id: int, fiscal_year: int, *, data: dict, now: datetime
) -> Pledge:
    """File the year's pledge, or revise it; a lower amount than before needs a written reason."""
    if fiscal_year not in FISCAL_YEARS:
        raise NotFound("No such fiscal year.")
    access.get_organisation(session, actor, organisation_id, APPROVER, FINANCE)
    reason = (data.pop("reason", None) or "").strip()
    if data["amount_fen"] > data["canteen_food_budget_fen"]:
        raise InvalidInput(
            "A pledge is a share of the canteen food budget.",
            fields={"amount_fen": ["Must not exceed canteen_food_budget_fen."]},
        )
    data["share_bp"] = data["amount_fen"] * 10_000 // data["canteen_food_budget_fen"]
    pledge = session.scalar(
        sa.select(Pledge)
        .where(Pledge.organisation_id == organisation_id, Pledge.fiscal_year == fiscal_year)
        .with_for_update()
    )
    previous = None
    if pledge is None:
        pledge = Pledge(
            organisation_id=organisation_id, fiscal_year=fiscal_year, filed_by_id=actor.user_id, filed_at=now, **data
        )
        session.add(pledge)
    else:
        previous = pledge.amount_fen
        if data["amount_fen"] < previous and not reason:
            raise InvalidInput(
                "Lowering a pledge needs a written reason.", fields={"reason": ["Required when the amount goes down."]}
            )
        for key, value in data.items():
            setattr(pledge, key, value)
    pledge.updated_at = now
    pledge.revisions.append(
        PledgeRevision(
            previous_amount_fen=previous,
            amount_fen=pledge.amount_fen,
            share_bp=pledge.share_bp,
            reason=reason,
            actor_id=actor.user_id,
            at=now,
        )
    )
    session.flush()
    return pledge


def get_pledge(session: Session, actor: Actor, organisation_id: int, fiscal_year: int) -> Pledge:
    access.get_organisation(session, actor, organisation_id)
    pledge = session.scalar(
        sa.select(Pledge)
        .options(selectinload(Pledge.revisions))
        .where(Pledge.organisation_id == organisation_id, Pledge.fiscal_year == fiscal_year)
    )
    if pledge is None:
        raise NotFound("No pledge for this year.")
    return pledge


def list_pledges(session: Session, actor: Actor, organisation_id: int) -> list[Pledge]:
    access.get_organisation(session, actor, organisation_id)
    return list(
        session.scalars(
            sa.select(Pledge)
            .options(selectinload(Pledge.revisions))
            .where(Pledge.organisation_id == organisation_id)
            .order_by(Pledge.fiscal_year)
        )
    )


def with_completion(session: Session, pledge: Pledge) -> dict:
    done = completed_fen(session, pledge.organisation_id, pledge.fiscal_year)
    return {
        "pledge": pledge,
        "completed_fen": done,
        "completion_bp": min(10_000, done * 10_000 // pledge.amount_fen) if pledge.amount_fen else 0,
    }
