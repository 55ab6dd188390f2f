"""A suspension (a sanction) removes the product from search on both backends, and lifting it brings it back."""

from shop import clock
from shop.supervision import service as supervision
from shop.supervision.models import SanctionKind


def _ids(client):
    return [item["id"] for item in client.get("/api/v1/search", query_string={"q": "石柱辣椒"}).json["items"]]


def test_suspension_and_lifting_reach_search(client, make, session, index):
    product = make.product(name="石柱辣椒 chili")
    cert = make.certified(product)
    index.refresh()
    assert _ids(client) == [product.id]
    sanction = supervision.impose_sanction(
        session,
        make.regulator(),
        supplier_id=product.supplier_id,
        kind=SanctionKind.SUSPENSION,
        certification_id=cert.id,
        reason="抽检不合格",
        now=clock.now(),
    )
    index.refresh()
    assert _ids(client) == []
    supervision.lift_sanction(session, make.regulator(), sanction.id, reason="整改完成", now=clock.now())
    index.refresh()
    assert _ids(client) == [product.id]
