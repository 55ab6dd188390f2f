from shop.reference.data import load


def test_data_file_names_its_public_sources():
    data = load()
    assert data["source"] and all("Chongqing" in s or "PRC" in s for s in data["source"])


def test_38_districts_and_counties_with_18_former_poverty_ones(client):
    everything = client.get("/api/v1/districts?size=100").json
    assert everything["total"] == 38
    poor = client.get("/api/v1/districts?size=100&poverty_alleviated=true").json
    assert poor["total"] == 18
    names = {d["name_en"] for d in poor["items"]}
    assert {"Chengkou", "Wuxi", "Fengjie", "Youyang", "Fuling", "Tongnan"} <= names
    assert "Yuzhong" not in names


def test_district_detail_lists_its_townships(client):
    fengjie = client.get("/api/v1/districts/500236").json
    assert fengjie["name"] == "奉节县" and fengjie["kind"] == "county"
    assert {t["name"]: t["deep_poverty"] for t in fengjie["townships"]}["平安乡"] is True
    assert client.get("/api/v1/districts/1").status_code == 404


def test_deep_poverty_townships_filter(client):
    deep = client.get("/api/v1/townships?deep_poverty=true&size=100").json
    assert deep["total"] == sum(t["deep_poverty"] for t in load()["townships"])
    assert all(t["deep_poverty"] for t in deep["items"])
    assert "中益乡" in {t["name"] for t in deep["items"]}
    only_wulong = client.get("/api/v1/townships?district_id=500156").json["items"]
    assert {t["district_id"] for t in only_wulong} == {500156}


def test_the_eighteen_deep_poverty_townships_known_so_far_under_their_official_names():
    deep = {t["name"] for t in load()["townships"] if t["deep_poverty"]}
    assert {"沿河乡", "鸡鸣乡", "后坪苗族土家族乡", "中益乡"} <= deep
    assert "后坪乡" not in {t["name"] for t in load()["townships"]}
    assert len(deep) == 17  # the eighteenth is still to be confirmed: see known_gaps in the data file
    chengkou = {t["name"]: t["deep_poverty"] for t in load()["townships"] if t["district_id"] == 500229}
    assert chengkou == {"鸡鸣乡": True, "沿河乡": True}


def test_township_ids_are_not_shaped_like_official_codes():
    # the official township codes are 9 digits starting with the district's 6; ours are plain numbers
    assert all(0 < t["id"] < 100_000 for t in load()["townships"])
    assert "not shaped like the official 9-digit township codes" in load()["notes"]
