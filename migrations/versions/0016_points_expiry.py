"""points expiry: the ledger's `expire` kind

Revision ID: 0016_points_expiry
Revises: 0015_supervision
"""

from alembic import op

revision = "0016_points_expiry"
down_revision = "0015_supervision"
branch_labels = None
depends_on = None

KINDS = ("earn", "spend", "return", "clawback", "adjust")


def _kinds(values: tuple[str, ...]) -> None:
    allowed = ", ".join(f"'{v}'" for v in values)
    with op.batch_alter_table("points_entries", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_points_entries_points_kind"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_points_entries_points_kind"), f"kind IN ({allowed})")


def upgrade() -> None:
    _kinds((*KINDS, "expire"))


def downgrade() -> None:
    op.execute("UPDATE points_entries SET kind = 'adjust' WHERE kind = 'expire'")  # the ledger still adds up
    _kinds(KINDS)
