import pytest

from shop.auth.models import Role
from shop.suppliers import uscc
from tests.factories import FENGJIE, valid_uscc


def test_the_standards_example_code_is_valid():
    assert uscc.is_valid("91350100M000100Y43")  # the worked example of GB 32100-2015


@pytest.mark.parametrize("code", ["91350100M000100Y44", "91350100M000100Y4", "9135010OM000100Y43", "x" * 18])
def test_bad_credit_codes_are_refused(code):
    assert not uscc.is_valid(code)


def _body(**overrides):
    return {
        "name": "奉节县安坪脐橙专业合作社",
        "uscc": valid_uscc(),
        "district_id": FENGJIE,
        "contact_name": "张",
        "contact_phone": "13800000001",
        **overrides,
    }


def test_registering_a_supplier_makes_the_user_its_member(client, make):
    user = make.user()
    created = client.post("/api/v1/suppliers", json=_body(), headers=make.headers(user))
    assert created.status_code == 201
    assert created.json["district"]["name"] == "奉节县"
    me = client.get("/api/v1/auth/me", headers=make.headers(user)).json
    assert {"role": "supplier_member", "scope_id": created.json["id"]} in [
        {k: g[k] for k in ("role", "scope_id")} for g in me["grants"]
    ]


def test_credit_code_check_character_is_verified(client, make):
    code = valid_uscc()
    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
    response = client.post("/api/v1/suppliers", json=_body(uscc=wrong), headers=make.headers(make.user()))
    assert response.status_code == 422
    assert "uscc" in response.json["error"]["details"]["fields"]


def test_credit_code_is_unique(client, make):
    code = valid_uscc()
    headers = make.headers(make.user())
    assert client.post("/api/v1/suppliers", json=_body(uscc=code), headers=headers).status_code == 201
    again = client.post("/api/v1/suppliers", json=_body(uscc=code), headers=headers)
    assert again.status_code == 409 and again.json["error"]["code"] == "uscc_taken"


def test_only_members_edit_a_supplier_and_manage_members(client, make):
    mine, theirs = make.supplier(), make.supplier()
    member = make.user((Role.SUPPLIER_MEMBER, mine.id))
    headers = make.headers(member)
    assert (
        client.patch(f"/api/v1/suppliers/{mine.id}", json={"contact_name": "新"}, headers=headers).json["contact_name"]
        == "新"
    )
    refused = client.patch(f"/api/v1/suppliers/{theirs.id}", json={"contact_name": "x"}, headers=headers)
    assert refused.status_code == 403
    assert client.get(f"/api/v1/suppliers/{theirs.id}/members", headers=headers).status_code == 403


def test_credit_code_cannot_be_changed(client, make):
    supplier = make.supplier()
    member = make.user((Role.SUPPLIER_MEMBER, supplier.id))
    response = client.patch(
        f"/api/v1/suppliers/{supplier.id}", json={"uscc": valid_uscc()}, headers=make.headers(member)
    )
    assert response.status_code == 422


def test_members_add_list_and_remove_members(client, make):
    supplier = make.supplier()
    member = make.user((Role.SUPPLIER_MEMBER, supplier.id))
    newcomer = make.user(login="new.member@test.cq")
    headers = make.headers(member)
    added = client.post(
        f"/api/v1/suppliers/{supplier.id}/members", json={"login": "new.member@test.cq"}, headers=headers
    )
    assert added.status_code == 201
    listed = client.get(f"/api/v1/suppliers/{supplier.id}/members", headers=headers).json
    assert {m["id"] for m in listed["items"]} == {member.id, newcomer.id}
    removed = client.delete(f"/api/v1/suppliers/{supplier.id}/members/{newcomer.id}", headers=headers)
    assert removed.status_code == 204
    assert client.get(f"/api/v1/suppliers/{supplier.id}/members", headers=headers).json["total"] == 1


def test_public_supplier_list_filters_by_district(client, make):
    make.supplier(district_id=FENGJIE, name="奉节甲")
    make.supplier(district_id=500237, name="巫山乙")
    names = [s["name"] for s in client.get("/api/v1/suppliers?district_id=500237").json["items"]]
    assert "巫山乙" in names and "奉节甲" not in names
