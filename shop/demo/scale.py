"""`flask demo scale`: a database at the platform's scale, with realistic distributions.

By default 300,000 products (1–3 SKUs each, priced) from 20,000 suppliers of Chongqing's districts
(the reference data, weighted towards the former poverty districts), 100 halls and 10,000 counters
under them, 50,000 buyers, 1,000,000 shop orders and 1,000,000 counter sales over the last year. A
`Scale` with a fraction shrinks every count (tests run it tiny).

What is written, and how it stays consistent with the checks of the slices:
- certifications: most products in force, some expired, revoked, suspended, pending or in their
  objection window; only products in force all year sell;
- popularity is Zipf-like (a few SKUs and buyers make most sales) and sales follow the seasons
  (Spring Festival, the autumn harvest, the "Double 11" week) and the hours of the day;
- counters sell through the inventory slice's records: a counter event (a cabinet's session) and
  its sale movements, FEFO from the one batch each counter holds of a SKU; every stock balance is
  the sum of its receive and sale movements (`flask inventory check`);
- shop orders are completed (a few cancelled): delivery from a hall or pickup at a counter, with
  their lines; they carry no stock movements (they are history: the halls' receipts are net of them);
- sales facts: one per completed order line and one per counter sale movement, valued as
  `shop.statistics.facts` values them (`flask statistics check`); the rollups are rebuilt;
- the embedded search index is rebuilt from the data (`flask search check`).

PostgreSQL is filled with COPY, SQLite with executemany in batches; ANALYZE runs at the end. Every
id is given explicitly (above the tables' current maxima) and PostgreSQL's sequences are moved past
them. Buyers log in as `buyer{n}@scale.cq` with `SCALE_PASSWORD`, the coordinator as
`coordinator@scale.cq`."""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shop.auth import passwords
from shop.db import Base
from shop.inventory.models import CHINA

SCALE_PASSWORD = "scale-pass"
DAY = timedelta(days=1)
T = Base.metadata.tables


@dataclass(frozen=True)
class Scale:
    products: int = 300_000
    suppliers: int = 20_000
    halls: int = 100
    counters: int = 10_000
    buyers: int = 50_000
    orders: int = 1_000_000
    counter_sales: int = 1_000_000  # sale movements at counters over the year
    skus_per_counter: int = 24
    skus_per_hall: int = 300
    seed: int = 832

    def times(self, fraction: float) -> Scale:
        """Every count times `fraction` (at least a handful of each)."""
        floors = {"products": 20, "suppliers": 4, "halls": 2, "counters": 4, "buyers": 5, "orders": 20}
        floors |= {"counter_sales": 20, "skus_per_counter": 6, "skus_per_hall": 10}
        changed = {}
        for f in fields(self):
            if f.name in floors:
                base = getattr(self, f.name)
                if f.name.startswith("skus_per"):
                    changed[f.name] = max(floors[f.name], min(base, round(base * max(fraction, 0.25))))
                else:
                    changed[f.name] = max(floors[f.name], round(base * fraction))
        return replace(self, **changed)


# --- what products are -------------------------------------------------------------------------

# (top category, slug, [(Chinese product word, English words, unit, typical price in fen)])
CATEGORIES = [
    (
        "粮油",
        "grain-oil",
        [
            ("大米", "rice", "袋", 6800),
            ("菜籽油", "rapeseed oil", "桶", 9800),
            ("小米", "millet", "袋", 3900),
            ("荞麦面", "buckwheat noodles", "袋", 2600),
            ("红薯粉条", "sweet potato noodles", "袋", 2900),
        ],
    ),
    (
        "水果",
        "fruit",
        [
            ("脐橙", "navel orange", "箱", 5900),
            ("脆李", "crisp plum", "箱", 6900),
            ("猕猴桃", "kiwi fruit", "箱", 7900),
            ("柑橘", "mandarin", "箱", 4900),
            ("枇杷", "loquat", "盒", 5800),
            ("柚子", "pomelo", "个", 1800),
        ],
    ),
    (
        "蔬菜",
        "vegetables",
        [
            ("榨菜", "preserved mustard", "袋", 1200),
            ("竹笋", "bamboo shoots", "袋", 3600),
            ("魔芋", "konjac", "袋", 2400),
            ("辣椒", "chilli", "斤", 1600),
        ],
    ),
    (
        "肉禽蛋",
        "meat-eggs",
        [
            ("老腊肉", "cured pork", "斤", 8800),
            ("土鸡蛋", "free-range eggs", "盒", 4500),
            ("香肠", "sausage", "斤", 6800),
            ("麻鸭", "duck", "只", 12800),
        ],
    ),
    (
        "茶叶",
        "tea",
        [
            ("绿茶", "green tea", "盒", 15800),
            ("红茶", "black tea", "盒", 12800),
            ("苦丁茶", "kuding tea", "盒", 6800),
        ],
    ),
    (
        "干货",
        "dried-goods",
        [
            ("香菇", "shiitake", "袋", 5800),
            ("木耳", "wood ear", "袋", 3900),
            ("核桃", "walnuts", "袋", 4800),
            ("花椒", "sichuan pepper", "袋", 3200),
        ],
    ),
    (
        "蜂蜜",
        "honey",
        [("土蜂蜜", "wild honey", "瓶", 8800), ("中蜂蜜", "chinese bee honey", "瓶", 12800)],
    ),
    (
        "调味品",
        "condiments",
        [("火锅底料", "hotpot base", "袋", 2800), ("豆瓣酱", "bean paste", "瓶", 1800), ("醋", "vinegar", "瓶", 1500)],
    ),
]
VARIANTS = [("", ""), ("精选", "select"), ("礼盒装", "gift box"), ("家庭装", "family pack"), ("有机", "organic")]
VARIANTS += [("高山", "highland"), ("农家", "farmhouse"), ("特级", "premium")]
SKU_NAMES = ["标准装", "大包装", "礼盒", "尝鲜装", "整箱"]
HOSTS = ["区政府机关食堂", "人民医院", "第一中学", "职业学院", "税务局", "供电公司", "社区服务中心", "高铁站"]
SUPPLIER_KINDS = ["农业专业合作社", "农业开发有限公司", "食品有限公司", "家庭农场", "生态农业有限公司"]
SURNAMES = "王李张刘陈杨黄赵周吴徐孙马胡朱郭何罗高林"

# Month weights (January: the Spring Festival; September–October: the harvest; November: Double 11).
MONTH_WEIGHT = {1: 1.7, 2: 1.3, 3: 0.8, 4: 0.8, 5: 0.9, 6: 1.0, 7: 0.9, 8: 0.9, 9: 1.3, 10: 1.2, 11: 1.5, 12: 1.1}
# Hours of the day, China time.
HOUR_WEIGHT = [0.1, 0.05, 0.02, 0.02, 0.02, 0.05, 0.2, 0.5, 0.9, 1.0, 1.1, 1.4]
HOUR_WEIGHT += [1.5, 1.1, 0.9, 0.9, 1.0, 1.2, 1.3, 1.6, 1.8, 1.6, 1.0, 0.4]


def zipf_cumulative(n: int, s: float = 1.07) -> list[float]:
    """Cumulative weights of ranks 1..n under a Zipf law with exponent `s`."""
    acc, out = 0.0, []
    for rank in range(1, n + 1):
        acc += 1.0 / rank**s
        out.append(acc)
    return out


class Calendar:
    """The last 365 days (China time) with seasonal weights; draws instants and counts per day."""

    def __init__(self, now: datetime, rng: random.Random):
        self.rng = rng
        today = now.astimezone(CHINA).date()
        self.days = [today - timedelta(days=n) for n in range(365, 0, -1)]
        weights = [MONTH_WEIGHT[d.month] * (1.15 if d.weekday() >= 5 else 1.0) for d in self.days]
        for i, d in enumerate(self.days):  # the "Double 11" week
            if d.month == 11 and 5 <= d.day <= 11:
                weights[i] *= 3.0
        self.weights = weights
        self.now = now
        self.hours = list(range(24))
        self.hour_cum = list(_accumulate(HOUR_WEIGHT))

    def per_day(self, total: int) -> list[int]:
        """`total` split over the days by weight, exactly."""
        whole = sum(self.weights)
        counts, done, acc = [], 0, 0.0
        for w in self.weights:
            acc += w
            upto = round(total * acc / whole)
            counts.append(upto - done)
            done = upto
        return counts

    def instants(self, day: date, n: int) -> list[datetime]:
        """`n` sorted instants on `day` (China time), by the hours' weights."""
        hours = self.rng.choices(self.hours, cum_weights=self.hour_cum, k=n)
        start = datetime(day.year, day.month, day.day, tzinfo=CHINA)
        out = sorted(start + timedelta(hours=h, seconds=self.rng.randrange(3600)) for h in hours)
        return [min(t, self.now - timedelta(minutes=1)).astimezone(UTC) for t in out]


def _accumulate(values: Iterable[float]) -> Iterable[float]:
    acc = 0.0
    for v in values:
        acc += v
        yield acc


# --- writing ------------------------------------------------------------------------------------


class Writer:
    """Bulk rows into tables: COPY on PostgreSQL, executemany in batches on SQLite."""

    def __init__(self, conn: Connection, log: Callable[[str], None]):
        self.conn = conn
        self.postgres = conn.dialect.name == "postgresql"
        self.log = log
        self.counts: dict[str, int] = defaultdict(int)

    def next_id(self, table: str) -> int:
        return (self.conn.scalar(sa.select(sa.func.max(T[table].c.id))) or 0) + 1

    def write(self, table: str, columns: list[str], rows: Iterable[tuple]) -> int:
        t = T[table]
        n = 0
        if self.postgres:
            json_at = [i for i, c in enumerate(columns) if isinstance(t.c[c].type, sa.JSON)]
            raw = self.conn.connection.driver_connection
            with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    if json_at:
                        row = list(row)
                        for i in json_at:
                            row[i] = None if row[i] is None else json.dumps(row[i], ensure_ascii=False)
                    copy.write_row(row)
                    n += 1
        else:
            batch: list[dict] = []
            insert = t.insert()
            for row in rows:
                batch.append(dict(zip(columns, row, strict=True)))
                if len(batch) >= 5_000:
                    self.conn.execute(insert, batch)
                    n += len(batch)
                    batch = []
            if batch:
                self.conn.execute(insert, batch)
                n += len(batch)
        self.counts[table] += n
        return n

    def fix_sequences(self) -> None:
        if not self.postgres:
            return
        for table in self.counts:
            if "id" in T[table].c and T[table].c.id.autoincrement is not False:
                self.conn.execute(
                    sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
                    )
                )


# --- the fill -----------------------------------------------------------------------------------


@dataclass
class Product:
    id: int
    supplier_id: int
    category_id: int
    district_id: int
    township_id: int | None
    name: str
    sellable: bool  # certified in force all year
    deep_poverty: bool
    eligible: bool  # poverty-alleviated origin (and in force, as sellable)


def fill(conn: Connection, scale: Scale, now: datetime, log: Callable[[str], None] = lambda _m: None) -> dict:
    """Write the whole data set in the caller's transaction; returns rows per table."""
    rng = random.Random(scale.seed)
    w = Writer(conn, log)
    started = time.monotonic()

    def step(message: str) -> None:
        log(f"{time.monotonic() - started:7.1f}s {message}")

    districts = [(d, bool(p)) for d, p in conn.execute(sa.text("SELECT id, poverty_alleviated FROM districts"))]
    if not districts:
        raise RuntimeError("no reference data: run `flask db upgrade` first")
    district_name = dict(conn.execute(sa.text("SELECT id, name FROM districts")).all())
    poverty = dict(districts)
    townships: dict[int, list[tuple[int, bool]]] = defaultdict(list)
    for t_id, d_id, deep in conn.execute(sa.text("SELECT id, district_id, deep_poverty FROM townships")):
        townships[d_id].append((t_id, bool(deep)))
    # Suppliers sit more often in the former poverty districts.
    district_ids = [d for d, _ in districts]
    district_cum = list(_accumulate(3.0 if p else 1.0 for _, p in districts))

    # users: an admin, a coordinator, the buyers (one password hash for all: hashing is slow)
    step("users")
    password_hash = passwords.hash_password(SCALE_PASSWORD)
    user0 = w.next_id("users")
    admin_id, coordinator_id, buyer0 = user0, user0 + 1, user0 + 2
    users = [(admin_id, "admin@scale.cq", "Scale admin"), (coordinator_id, "coordinator@scale.cq", "Scale coordinator")]
    users += [(buyer0 + n, f"buyer{n}@scale.cq", f"买家{n}") for n in range(scale.buyers)]
    w.write(
        "users",
        ["id", "email", "password_hash", "display_name", "is_active", "created_at"],
        ((uid, email, password_hash, name, True, now - timedelta(days=400)) for uid, email, name in users),
    )
    grant0 = w.next_id("role_grants")
    roles = [(admin_id, "admin"), (coordinator_id, "coordinator")] + [
        (buyer0 + n, "buyer") for n in range(scale.buyers)
    ]
    w.write(
        "role_grants",
        ["id", "user_id", "role", "scope_id", "granted_by_id", "created_at"],
        ((grant0 + i, uid, role, 0, None, now - timedelta(days=400)) for i, (uid, role) in enumerate(roles)),
    )

    # categories: eight top categories, one child per product word
    step("categories, brands, suppliers")
    cat0 = w.next_id("categories")
    categories, words = [], []  # words: (category id, word, english, unit, price)
    cid = cat0
    for name, slug, items in CATEGORIES:
        top = cid
        categories.append((top, None, name, f"scale-{slug}", f"/{top}/"))
        cid += 1
        for word, english, unit, price in items:
            categories.append((cid, top, word, f"scale-{slug}-{english.replace(' ', '-')}", f"/{top}/{cid}/"))
            words.append((cid, word, english, unit, price))
            cid += 1
    w.write("categories", ["id", "parent_id", "name", "slug", "path"], categories)

    supplier0 = w.next_id("suppliers")
    supplier_district = rng.choices(district_ids, cum_weights=district_cum, k=scale.suppliers)
    w.write(
        "suppliers",
        [
            "id",
            "name",
            "uscc",
            "district_id",
            "address",
            "contact_name",
            "contact_phone",
            "contact_email",
            "created_at",
        ],
        (
            (
                supplier0 + n,
                f"{district_name[d]}{rng.choice('春夏秋冬山水田园青禾丰茂')}{n}号{rng.choice(SUPPLIER_KINDS)}",
                f"93500{supplier0 + n:013d}",
                d,
                f"{district_name[d]}某镇某村{n % 97 + 1}组",
                f"{rng.choice(SURNAMES)}先生",
                f"1{rng.randrange(3, 9)}{rng.randrange(10**9):09d}",
                None,
                now - timedelta(days=rng.randrange(400, 1500)),
            )
            for n, d in enumerate(supplier_district)
        ),
    )

    brand0 = w.next_id("brands")
    brands = [(brand0, "巴味渝珍（规模）", "regional_public", None, None)]
    for i, d in enumerate(district_ids):
        brands.append((brand0 + 1 + i, f"{district_name[d]}好物（规模）", "district_public", d, None))
    n_enterprise = max(2, scale.suppliers // 100)
    for i in range(n_enterprise):
        s = supplier0 + rng.randrange(scale.suppliers)
        brands.append((brand0 + len(brands), f"山珍{i}号（规模）", "enterprise", None, s))
    w.write("brands", ["id", "name", "tier", "district_id", "supplier_id"], brands)
    district_brand = {b[3]: b[0] for b in brands if b[2] == "district_public"}

    # products: suppliers' sizes are Zipf-like too; most products come from the supplier's district
    step("products")
    product0, sku0 = w.next_id("products"), w.next_id("skus")
    supplier_rank = list(range(scale.suppliers))
    rng.shuffle(supplier_rank)
    supplier_cum = zipf_cumulative(scale.suppliers, 0.8)
    product_supplier = rng.choices(supplier_rank, cum_weights=supplier_cum, k=scale.products)
    products: list[Product] = []
    product_rows, sku_rows, label_rows, cert_rows = [], [], [], []
    skus: list[tuple[int, int, int, str]] = []  # (sku id, product index, price, name)
    cert_windows: list[tuple[str, datetime | None, datetime | None]] = []
    label0, cert0, announcement0 = w.next_id("product_labels"), w.next_id("certifications"), w.next_id("announcements")
    announcements: dict[int, tuple[datetime, datetime]] = {}
    states = ["in_force", "expired", "revoked", "suspended", "pending", "objection"]
    state_cum = list(_accumulate([88, 4, 2, 1, 3, 2]))
    for n in range(scale.products):
        pid = product0 + n
        s = product_supplier[n]
        d = supplier_district[s] if rng.random() < 0.9 else rng.choice(district_ids)
        cat, word, english, unit, price = rng.choice(words)
        variant, variant_en = rng.choice(VARIANTS)
        town = None
        deep = False
        if townships.get(d) and rng.random() < 0.3:
            town, deep = rng.choice(townships[d])
        name = f"{district_name[d]}{variant}{word}"
        name_en = f"{variant_en} {english}".strip()
        brand = None
        r = rng.random()
        if r < 0.1:
            brand = brand0
        elif r < 0.3:
            brand = district_brand.get(d)
        elif r < 0.4 and n_enterprise:
            brand = brand0 + 1 + len(district_ids) + rng.randrange(n_enterprise)
        created = now - timedelta(days=rng.randrange(380, 1400))
        product_rows.append(
            (
                pid,
                supplier0 + s,
                cat,
                brand,
                "goods",
                name,
                name_en,
                f"产自{district_name[d]}的{word}，{unit}装，农户直供。",
                d,
                town,
                [],
                created,
                created,
            )
        )
        state = rng.choices(states, cum_weights=state_cum)[0]
        sellable = state == "in_force"
        products.append(Product(pid, supplier0 + s, cat, d, town, name, sellable, deep, poverty[d]))
        for k in range(rng.choices((1, 2, 3), cum_weights=(60, 90, 100))[0]):
            sku_price = int(max(300, min(500_000, round(price * rng.lognormvariate(0, 0.35) * (1 + 0.6 * k), -1))))
            sid = sku0 + len(skus)
            sku_name = SKU_NAMES[k] if k else "标准装"
            skus.append((sid, n, sku_price, sku_name))
            sku_rows.append((sid, pid, f"SC{sid:09d}", sku_name, sku_price, unit, 500 * (k + 1), True))
        for kind, p in (("geographical_indication", 0.15), ("green_food", 0.1), ("organic", 0.03)):
            if rng.random() < p:
                lid = label0 + len(label_rows)
                label_rows.append((lid, pid, kind, f"{kind[:2].upper()}{lid:08d}", None, None, created + DAY, admin_id))
        # the certification (认定): published a while ago; valid three years
        if state == "in_force":
            valid_from = now - timedelta(days=rng.randrange(400, 1000))
        elif state == "expired":
            valid_from = now - timedelta(days=3 * 365 + rng.randrange(1, 300))
        elif state == "objection":
            valid_from = now + timedelta(days=rng.randrange(1, 7))
        elif state == "pending":
            valid_from = None
        else:
            valid_from = now - timedelta(days=rng.randrange(400, 1000))
        month_key = (valid_from.year * 12 + valid_from.month) if valid_from else 0
        if valid_from is not None and month_key not in announcements:
            announcements[month_key] = (valid_from - timedelta(days=7), valid_from)
        status = {"in_force": "published", "expired": "published", "objection": "published"}.get(state, state)
        valid_until = valid_from + timedelta(days=3 * 365) if valid_from else None
        cert_windows.append((status, valid_from, valid_until))
        cid_ = cert0 + n
        cert_rows.append(
            (
                cid_,
                pid,
                supplier0 + s,
                d,
                town,
                status,
                f"{district_name[d]}某村生产基地",
                rng.randrange(1, 500) * 1000,
                "斤",
                rng.randrange(5, 800),
                f"CQFP{cid_:010d}" if valid_from else None,
                month_key,  # replaced by the announcement id below
                valid_from,
                valid_from,
                valid_until,
                admin_id,
                (valid_from or now) - timedelta(days=30),
            )
        )
    w.write(
        "products",
        [
            "id",
            "supplier_id",
            "category_id",
            "brand_id",
            "kind",
            "name",
            "name_en",
            "description",
            "origin_district_id",
            "origin_township_id",
            "images",
            "created_at",
            "updated_at",
        ],
        product_rows,
    )
    del product_rows
    step("skus, labels")
    w.write("skus", ["id", "product_id", "code", "name", "price_fen", "unit", "net_weight_g", "is_active"], sku_rows)
    del sku_rows
    w.write(
        "product_labels",
        [
            "id",
            "product_id",
            "kind",
            "certificate_no",
            "evidence_url",
            "evidence_sha256",
            "verified_at",
            "verified_by_id",
        ],
        label_rows,
    )
    step("certifications")
    announcement_id = {key: announcement0 + i for i, key in enumerate(sorted(announcements))}
    w.write(
        "announcements",
        ["id", "title", "published_at", "objection_until", "published_by_id"],
        (
            (announcement_id[key], f"{published:%Y年%m月}扶贫产品认定公示", published, until, admin_id)
            for key, (published, until) in sorted(announcements.items())
        ),
    )
    w.write(
        "certifications",
        [
            "id",
            "product_id",
            "supplier_id",
            "district_id",
            "township_id",
            "status",
            "production_base",
            "expected_yearly_output",
            "output_unit",
            "households_benefiting",
            "certificate_no",
            "announcement_id",
            "objection_until",
            "valid_from",
            "valid_until",
            "applied_by_id",
            "created_at",
        ],
        ((*row[:11], announcement_id.get(row[11]), *row[12:]) for row in cert_rows),
    )
    del cert_rows

    # popularity: SKUs of products in force, Zipf over a random order
    sellable_skus = [s for s in skus if products[s[1]].sellable]
    rng.shuffle(sellable_skus)
    sku_cum = zipf_cumulative(len(sellable_skus))

    def popular(k: int) -> list[tuple[int, int, int, str]]:
        return rng.choices(sellable_skus, cum_weights=sku_cum, k=k)

    def distinct_popular(k: int) -> list[tuple[int, int, int, str]]:
        seen: dict[int, tuple] = {}
        for _ in range(20):
            for s in popular(k * 2):
                seen.setdefault(s[0], s)
            if len(seen) >= k:
                break
        return list(seen.values())[:k]

    # locations: the centre, halls (one per district in turn), counters under them
    step("locations")
    centre = conn.scalar(sa.text("SELECT id FROM locations WHERE kind = 'centre' ORDER BY id LIMIT 1"))
    loc0 = w.next_id("locations")
    locations = []
    if centre is None:
        centre = loc0
        loc0 += 1
        locations.append(
            (centre, "centre", None, f"/{centre}/", "重庆消费帮扶运营中心", district_ids[0], "解放碑", None, True)
        )
    halls = []
    for h in range(scale.halls):
        d = district_ids[h % len(district_ids)]
        hid = loc0 + h
        halls.append((hid, d))
        locations.append(
            (
                hid,
                "hall",
                centre,
                f"/{centre}/{hid}/",
                f"{district_name[d]}消费帮扶专馆{h // len(district_ids) + 1}号",
                d,
                f"{district_name[d]}某路{h + 1}号",
                None,
                True,
            )
        )
    counters = []  # (id, hall id, district)
    for c in range(scale.counters):
        hid, d = halls[c % len(halls)]
        kid = loc0 + scale.halls + c
        counters.append((kid, hid, d))
        host = f"{district_name[d]}{rng.choice(HOSTS)}"
        locations.append(
            (kid, "counter", hid, f"/{centre}/{hid}/{kid}/", f"{host}智能柜{c + 1}", d, f"{host}一楼", host, True)
        )
    hours = {day: [{"opens": "08:30", "closes": "20:00"}] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    w.write(
        "locations",
        [
            "id",
            "kind",
            "parent_id",
            "path",
            "name",
            "district_id",
            "address",
            "host_institution",
            "is_active",
            "opening_hours",
            "created_at",
        ],
        ((*row, hours, now - timedelta(days=500)) for row in locations),
    )
    del locations

    calendar = Calendar(now, rng)
    year_start = datetime.combine(calendar.days[0], datetime.min.time(), CHINA).astimezone(UTC)

    # counter sales first (the balances follow from them): sessions of 1–3 items
    step("counter sales")
    counter_skus = {kid: distinct_popular(scale.skus_per_counter) for kid, _, _ in counters}
    counter_cum = list(_accumulate(rng.lognormvariate(0, 0.6) for _ in counters))
    counter_ids = [kid for kid, _, _ in counters]
    within_cum = zipf_cumulative(scale.skus_per_counter, 0.9)
    sold: dict[tuple[int, int], int] = defaultdict(int)
    sales_by_day = calendar.per_day(round(scale.counter_sales / 1.4))
    event0, move0, fact0 = w.next_id("counter_events"), w.next_id("stock_movements"), w.next_id("sales_facts")
    batch0 = w.next_id("stock_batches")
    sku_by_id = {s[0]: s for s in skus}
    # one batch per stocked SKU, made before the year began and good till after today
    hall_skus = {hid: distinct_popular(scale.skus_per_hall) for hid, _ in halls}
    stocked = sorted({s[0] for lst in (*counter_skus.values(), *hall_skus.values()) for s in lst})
    batch_of = {sid: batch0 + i for i, sid in enumerate(stocked)}
    best_before = {sid: (now + timedelta(days=rng.randrange(60, 400))).astimezone(CHINA).date() for sid in stocked}
    w.write(
        "stock_batches",
        ["id", "sku_id", "trace_code", "produced_on", "best_before", "created_at", "frozen_at"],
        (
            (
                batch_of[sid],
                sid,
                f"CQT{batch_of[sid]:010d}",
                (year_start - timedelta(days=10)).astimezone(CHINA).date(),
                best_before[sid],
                year_start - timedelta(days=5),
                None,
            )
            for sid in stocked
        ),
    )

    events, moves, facts = [], [], []
    event_id, move_id, fact_id = event0, move0, fact0
    category_of = {p.id: p.category_id for p in products}

    def fact(key: str, at: datetime, channel: str, location: int, sku: tuple, quantity: int, amount: int):
        nonlocal fact_id
        p = products[sku[1]]
        day = at.astimezone(CHINA).date()
        facts.append(
            (
                fact_id,
                key,
                at,
                day,
                day.year,
                (day.month - 1) // 3 + 1,
                day.month,
                channel,
                "individual",
                None,
                location,
                p.id,
                sku[0],
                p.supplier_id,
                category_of[p.id],
                p.district_id,
                p.township_id,
                p.deep_poverty,
                p.eligible,
                quantity,
                amount,
                None,
                None,
                at,
            )
        )
        fact_id += 1

    def flush_counter() -> None:
        w.write(
            "counter_events",
            ["id", "counter_id", "event_id", "kind", "payload_sha256", "occurred_at", "received_at", "result"],
            events,
        )
        w.write(
            "stock_movements",
            [
                "id",
                "kind",
                "location_id",
                "sku_id",
                "batch_id",
                "on_hand_delta",
                "reserved_delta",
                "created_at",
                "actor_id",
                "counter_event_id",
                "transfer_id",
                "reservation_id",
                "reason",
                "reference",
            ],
            moves,
        )
        write_facts()
        events.clear()
        moves.clear()

    def write_facts() -> None:
        w.write("sales_facts", FACT_COLUMNS, facts)
        facts.clear()

    for day, n in zip(calendar.days, sales_by_day, strict=True):
        if not n:
            continue
        where = rng.choices(counter_ids, cum_weights=counter_cum, k=n)
        for at, kid in zip(calendar.instants(day, n), where, strict=True):
            items = {}
            for _ in range(rng.choices((1, 2, 3), cum_weights=(70, 92, 100))[0]):
                s = rng.choices(counter_skus[kid], cum_weights=within_cum)[0]
                items[s[0]] = items.get(s[0], 0) + rng.choices((1, 2, 3), cum_weights=(75, 95, 100))[0]
            received = at + timedelta(seconds=rng.randrange(1, 5))
            iso = at.isoformat()
            lines = []
            for sid, q in sorted(items.items()):
                s = sku_by_id[sid]
                moves.append(
                    (move_id, "sale", kid, sid, batch_of[sid], -q, 0, received, None, event_id, None, None, None, None)
                )
                fact(f"movement:{move_id}", received, "counter", kid, s, q, q * s[2])
                lines.append(
                    {
                        "sku_id": sid,
                        "batch_id": batch_of[sid],
                        "trace_code": f"CQT{batch_of[sid]:010d}",
                        "best_before": best_before[sid].isoformat(),
                        "quantity": q,
                    }
                )
                sold[(kid, sid)] += q
                move_id += 1
            eid = f"s-{event_id}"
            result = {
                "counter_id": kid,
                "event_id": eid,
                "kind": "sale",
                "occurred_at": iso,
                "applied_at": received.isoformat(),
                "lines": lines,
            }
            digest = hashlib.sha256(eid.encode()).hexdigest()
            events.append((event_id, kid, eid, "sale", digest, at, received, result))
            event_id += 1
        if len(moves) >= 50_000:
            flush_counter()
    flush_counter()

    # stock: what each counter and hall received before the year began, so that what is left after
    # the year's sales is its balance today (a few counters ran out of a SKU)
    step("stock levels")
    levels: list[tuple[int, int, int]] = []  # (location, sku, on hand now)
    receipts = []
    for kid, lst in counter_skus.items():
        for s in lst:
            left = 0 if rng.random() < 0.05 else rng.randrange(1, 40)
            levels.append((kid, s[0], left))
            receipts.append((kid, s[0], sold[(kid, s[0])] + left))
    for hid, lst in hall_skus.items():
        for s in lst:
            left = rng.randrange(50, 2000)
            levels.append((hid, s[0], left))
            receipts.append((hid, s[0], left))
    receipts = [r for r in receipts if r[2] > 0]
    w.write(
        "stock_movements",
        [
            "id",
            "kind",
            "location_id",
            "sku_id",
            "batch_id",
            "on_hand_delta",
            "reserved_delta",
            "created_at",
            "actor_id",
            "counter_event_id",
            "transfer_id",
            "reservation_id",
            "reason",
            "reference",
        ],
        (
            (
                move_id + i,
                "receive",
                loc,
                sid,
                batch_of[sid],
                q,
                0,
                year_start - DAY,
                admin_id,
                None,
                None,
                None,
                None,
                None,
            )
            for i, (loc, sid, q) in enumerate(receipts)
        ),
    )
    move_id += len(receipts)
    w.write(
        "stock_levels",
        ["location_id", "sku_id", "on_hand", "reserved", "low_stock_threshold"],
        ((loc, sid, q, 0, 5) for loc, sid, q in levels),
    )
    w.write(
        "batch_levels",
        ["location_id", "batch_id", "sku_id", "best_before", "on_hand", "reserved", "quarantined_at"],
        ((loc, batch_of[sid], sid, best_before[sid], q, 0, None) for loc, sid, q in levels),
    )
    del levels, receipts, sold

    # shop orders: buyers Zipf-like, SKUs by popularity, delivery from a hall or pickup at a counter
    step("orders")
    order0, line0 = w.next_id("orders"), w.next_id("order_lines")
    order_id, line_id = order0, line0
    buyer_cum = zipf_cumulative(scale.buyers, 0.7)
    buyer_ids = [buyer0 + n for n in range(scale.buyers)]
    rng.shuffle(buyer_ids)
    orders, lines_ = [], []
    order_columns = [
        "id",
        "number",
        "buyer_id",
        "status",
        "location_id",
        "fulfilment",
        "delivery_address",
        "subtotal_fen",
        "discount_fen",
        "points_redeemed",
        "points_redeemed_value_fen",
        "points_cost",
        "total_fen",
        "paid_fen",
        "refunded_fen",
        "points_earned",
        "coupon_id",
        "quote",
        "pickup_code",
        "pickup_attempts",
        "pickup_locked_at",
        "tracking_number",
        "expires_at",
        "paid_at",
        "completed_at",
        "created_at",
    ]
    line_columns = [
        "id",
        "order_id",
        "sku_id",
        "product_id",
        "name",
        "quantity",
        "unit_price_fen",
        "subtotal_fen",
        "discount_fen",
        "points_value_fen",
        "total_fen",
        "points_cost",
        "rush_sale_id",
        "gift_promotion_id",
        "deep_poverty",
        "adjustments",
        "refunded_quantity",
        "refunded_fen",
    ]

    def flush_orders() -> None:
        w.write("orders", order_columns, orders)
        w.write("order_lines", line_columns, lines_)
        write_facts()
        orders.clear()
        lines_.clear()

    for day, n in zip(calendar.days, calendar.per_day(scale.orders), strict=True):
        if not n:
            continue
        who = rng.choices(buyer_ids, cum_weights=buyer_cum, k=n)
        for at, buyer in zip(calendar.instants(day, n), who, strict=True):
            cancelled = rng.random() < 0.05
            pickup = rng.random() < 0.3
            if pickup:
                location = counters[rng.randrange(len(counters))][0]
                address = None
            else:
                location = halls[rng.randrange(len(halls))][0]
                d = rng.choice(district_ids)
                address = {
                    "name": f"{rng.choice(SURNAMES)}女士",
                    "phone": f"13{rng.randrange(10**9):09d}",
                    "district_id": d,
                    "address": f"{district_name[d]}某街道{rng.randrange(1, 300)}号",
                }
            chosen: dict[int, tuple] = {}
            for s in popular(rng.choices((1, 2, 3, 4), cum_weights=(60, 85, 95, 100))[0]):
                chosen.setdefault(s[0], s)
            discounted = rng.random() < 0.1
            subtotal = discount = 0
            paid_at = None if cancelled else at + timedelta(seconds=rng.randrange(20, 900))
            completed = (
                None if cancelled else min(at + timedelta(hours=rng.randrange(2, 96)), now - timedelta(minutes=1))
            )
            for s in chosen.values():
                q = rng.choices((1, 2, 3, 5), cum_weights=(70, 88, 96, 100))[0]
                sub = q * s[2]
                off = sub // 20 if discounted else 0
                subtotal += sub
                discount += off
                p = products[s[1]]
                lines_.append(
                    (
                        line_id,
                        order_id,
                        s[0],
                        p.id,
                        f"{p.name} {s[3]}",
                        q,
                        s[2],
                        sub,
                        off,
                        0,
                        sub - off,
                        0,
                        None,
                        None,
                        p.deep_poverty,
                        [],
                        0,
                        0,
                    )
                )
                if completed is not None:
                    fact(f"order:{order_id}:{line_id}", completed, "online", location, s, q, sub - off)
                line_id += 1
            total = subtotal - discount
            orders.append(
                (
                    order_id,
                    f"{at.astimezone(CHINA):%Y%m%d}{order_id:06d}",
                    buyer,
                    "cancelled" if cancelled else "completed",
                    location,
                    "pickup" if pickup else "delivery",
                    address,
                    subtotal,
                    discount,
                    0,
                    0,
                    0,
                    total,
                    0 if cancelled else total,
                    0,
                    0,
                    None,
                    {"subtotal_fen": subtotal, "discount_fen": discount, "total_fen": total},
                    None,
                    0,
                    None,
                    None if (cancelled or pickup) else f"SF{order_id:012d}",
                    at + timedelta(minutes=30),
                    paid_at,
                    completed,
                    at,
                )
            )
            order_id += 1
        if len(orders) >= 20_000:
            flush_orders()
    flush_orders()
    w.fix_sequences()
    step("rows written")
    return dict(w.counts)


FACT_COLUMNS = [
    "id",
    "source_key",
    "occurred_at",
    "day",
    "year",
    "quarter",
    "month",
    "channel",
    "buyer_type",
    "organisation_id",
    "location_id",
    "product_id",
    "sku_id",
    "supplier_id",
    "category_id",
    "origin_district_id",
    "origin_township_id",
    "deep_poverty",
    "eligible",
    "quantity",
    "amount_fen",
    "external_supplier",
    "external_product",
    "created_at",
]


def analyze(conn: Connection) -> None:
    conn.execute(sa.text("ANALYZE"))


def is_filled(conn: Connection) -> bool:
    return (conn.scalar(sa.text("SELECT count(*) FROM products")) or 0) > 0


def index_and_fold(factory, now: datetime, log: Callable[[str], None] = lambda _m: None) -> None:
    """Rebuild the embedded search index (what `flask search reindex --backend embedded` does, in
    larger batches: fewer scans) and the statistics rollups, each in its own transaction."""
    from search.documents import count_indexable, document_batches
    from search.embedded_backend import EmbeddedBackend
    from shop.db import transaction
    from shop.statistics import rollups

    indexed = 0

    def progress(n: int) -> None:
        nonlocal indexed
        indexed += n
        log(f"search documents {indexed}")

    with transaction(factory) as session:
        EmbeddedBackend(session).reindex(document_batches(session, batch=5_000), count_indexable(session), progress)
    log("statistics rollups")
    rollups.rebuild(factory, now)


def run(
    engine: sa.Engine,
    scale: Scale,
    now: datetime,
    log: Callable[[str], None] = lambda _m: None,
    *,
    check_keys: bool = False,
) -> dict:
    """Fill (one transaction), rebuild the embedded search index and the statistics rollups, ANALYZE.
    Returns rows per table and the seconds each stage took."""
    from shop.sessions import make_sessionmaker

    timings = {}
    started = time.monotonic()
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql" and not check_keys:
            # The rows are made consistent here (tests check them with the constraints on, on SQLite
            # and PostgreSQL at small scale); at full scale the per-row trigger checks of the foreign
            # keys would take most of the time. Needs a superuser; without one they stay on.
            try:
                with conn.begin_nested():
                    conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
            except sa.exc.DBAPIError:
                log("foreign key triggers stay on (not a superuser)")
        counts = fill(conn, scale, now, log)
    timings["rows_s"] = round(time.monotonic() - started, 1)
    mark = time.monotonic()
    log("analyze")  # before the search documents' queries: without statistics their plans are bad
    with engine.begin() as conn:
        analyze(conn)
    timings["analyze_s"] = round(time.monotonic() - mark, 1)
    mark = time.monotonic()
    index_and_fold(make_sessionmaker(engine), now, log)
    timings["search_and_rollups_s"] = round(time.monotonic() - mark, 1)
    mark = time.monotonic()
    log("analyze")
    with engine.begin() as conn:
        analyze(conn)
    timings["analyze_s"] += round(time.monotonic() - mark, 1)
    timings["total_s"] = round(time.monotonic() - started, 1)
    return {**counts, **timings}
