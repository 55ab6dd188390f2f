"""Demo accounts: one per role, all with the demo password; the admin and regulator grants."""

from __future__ import annotations

from sqlalchemy.orm import Session

from shop.auth import service as auth_service
from shop.auth.models import Role, User
from shop.suppliers.uscc import check_character

DEMO_PASSWORD = "demo-password"


ACCOUNTS = [
    # login, display name, role, scope
    ("admin@demo.cq", "平台管理员 Admin", Role.ADMIN, None),
    ("regulator@demo.cq", "市场监管 Regulator", Role.REGULATOR, None),
    ("certifier@demo.cq", "区县认定员 Certifier", Role.CERTIFIER, "all demo districts"),
    ("supplier@demo.cq", "安坪脐橙合作社 Supplier", Role.SUPPLIER_MEMBER, "Fengjie cooperative"),
    ("supplier2@demo.cq", "其他供应商 Supplier 2", Role.SUPPLIER_MEMBER, "the other demo suppliers"),
    ("buyer@demo.cq", "买家 Buyer", Role.BUYER, None),
    ("operator@demo.cq", "渝中专馆运营 Hall operator", Role.HALL_OPERATOR, "Yuzhong hall, its counter and zone"),
    ("union-purchaser@demo.cq", "区总工会采购 Union purchaser", Role.ORG_MEMBER, "Yuzhong labour union"),
    ("union-approver@demo.cq", "区总工会审批 Union approver", Role.ORG_APPROVER, "Yuzhong labour union"),
    ("union-finance@demo.cq", "区总工会财务 Union finance", Role.ORG_FINANCE, "Yuzhong labour union"),
]


def uscc(district_id: int, n: int) -> str:
    """A valid unified social credit code for the n-th demo organisation of a district."""
    first17 = f"93{district_id}MA{n:07d}"
    return first17 + check_character(first17)


def _user(session: Session, login: str, name: str) -> User:
    return auth_service.register_user(session, login=login, password=DEMO_PASSWORD, display_name=name)


def load(session: Session) -> dict[str, User]:
    """Every demo account by login, the admin and the regulator granted their roles."""
    users = {login: _user(session, login, name) for login, name, _role, _scope in ACCOUNTS}
    admin_user = users["admin@demo.cq"]
    auth_service.add_grant(session, admin_user, Role.ADMIN, 0, granted_by_id=None)
    auth_service.add_grant(session, users["regulator@demo.cq"], Role.REGULATOR, 0, granted_by_id=admin_user.id)
    return users
