"""Each workflow of the pages end to end in Chromium, on a 375 px wide screen, with a screenshot per
page under test-artifacts/pages/. The workflows share one server and its demo data, so each test
leaves the data as the next one expects (they run in file order)."""

from __future__ import annotations

import re

from playwright.sync_api import expect


def test_public_pages_and_an_objection(page, site, shot, log_in):
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text("重庆市消费帮扶重点产品")
    shot("public-home")

    page.get_by_label("搜索认定产品").fill("脐橙")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=re.compile("Fengjie navel oranges")).first).to_be_visible()
    shot("public-directory-search")
    page.goto("/products")
    page.get_by_label("产地区县").select_option(label="奉节县")
    page.get_by_role("button", name="筛选").click()
    expect(page.get_by_text(re.compile(r"共 \d+ 个认定产品"))).to_be_visible()
    assert "district_id=500236" in page.url
    shot("public-directory-filtered")

    page.get_by_role("link", name=re.compile("Fengjie navel oranges")).first.click()
    expect(page.get_by_role("heading", name="哪里可以买到")).to_be_visible()
    expect(page.get_by_text("认定证书")).to_be_visible()
    shot("public-product")

    page.goto(f"/t/{site.trace_code}")
    expect(page.get_by_role("heading", name="产品追溯")).to_be_visible()
    expect(page.get_by_text(site.trace_code)).to_be_visible()
    shot("public-trace")

    page.goto("/halls")
    expect(page.get_by_text("渝中消费帮扶专馆 Yuzhong hall")).to_be_visible()
    page.get_by_text("营业时间").first.click()
    expect(page.get_by_text("周一").first).to_be_visible()
    shot("public-halls")

    page.goto("/announcements")
    shot("public-announcements")
    page.locator("main li", has_text="异议期内").get_by_role("link").first.click()
    objectable = page.get_by_role("link", name="登录后提出异议")
    expect(objectable.first).to_be_visible()
    shot("public-announcement")

    # Objecting needs an account: log in, come back to the announcement, object.
    announcement = page.url
    log_in("buyer@demo.cq")
    page.goto(announcement)
    field = page.get_by_label(re.compile("提出异议")).first
    field.fill("该产品的生产基地不在申报的乡镇，请核实。")
    page.get_by_role("button", name="提交异议").first.click()
    expect(page.get_by_text("异议已提交，认定机关将处理。")).to_be_visible()
    expect(page.get_by_text("异议中").first).to_be_visible()
    shot("public-objection-filed")


def test_operator_console(page, site, shot, log_in):
    log_in("operator@demo.cq")
    tree = page.get_by_role("list").filter(has_text="渝中消费帮扶专馆")
    expect(tree.get_by_role("link", name=re.compile("Hospital smart counter"))).to_be_visible()
    expect(page.get_by_text("奉节消费帮扶专馆")).to_have_count(0)  # hall B is not in hall A's tree
    shot("console-home")

    page.get_by_role("link", name=re.compile("专馆 · 渝中消费帮扶专馆")).click()
    expect(page.get_by_role("heading", name="库存")).to_be_visible()
    expect(page.get_by_text("低库存").first).to_be_visible()
    expect(page.get_by_text("已过期").first).to_be_visible()
    shot("console-stock")
    sku_id = page.locator("table tbody th small").first.inner_text().split("#")[1].rstrip(")")

    receive = page.locator("section", has=page.get_by_role("heading", name="收货（按追溯码）"))
    receive.get_by_label("追溯码").fill("FJ-BROWSER-0001")
    receive.get_by_label("SKU 编号").fill(sku_id)
    receive.get_by_label("采收/生产日期").fill("2026-11-20")
    receive.get_by_label("保质期至").fill("2027-01-20")
    receive.get_by_label("数量").fill("12")
    receive.get_by_role("button", name="确认收货").click()
    expect(page.get_by_text("已收货：追溯码 FJ-BROWSER-0001，12 件。")).to_be_visible()

    expired = page.locator("section", has=page.get_by_role("heading", name="过期与临期批次")).locator(
        "li", has_text="已过期"
    )
    expired_code = expired.first.inner_text().removeprefix("已过期").split("·")[0].strip()
    write_off = page.locator("section", has=page.get_by_role("heading", name="报损"))
    write_off.get_by_label("批次追溯码").fill(expired_code)
    write_off.get_by_label("数量").fill("1")
    write_off.get_by_role("button", name="确认报损").click()
    expect(page.get_by_text("报损已记录。")).to_be_visible()

    count = page.locator("section", has=page.get_by_role("heading", name="盘点"))
    count.get_by_label("批次追溯码").fill("FJ-BROWSER-0001")
    count.get_by_label("实盘数量").fill("11")
    count.get_by_role("button", name="记录盘点").click()
    expect(page.get_by_text("盘点已记录。")).to_be_visible()

    transfer = page.locator("section", has=page.get_by_role("heading", name="调出"))
    transfer.get_by_label("调往").select_option(label="专柜 · 重医附一院智能专柜 Hospital smart counter")
    transfer.get_by_label("SKU 编号").fill(sku_id)
    transfer.get_by_label("数量").fill("2")
    transfer.get_by_role("button", name="发出调拨").click()
    expect(page.get_by_text(re.compile(r"调拨单 #\d+ 已发出"))).to_be_visible()
    shot("console-stock-after-forms")

    # Transfers in: the counter is the operator's too, so its incoming transfers can be received.
    page.get_by_role("link", name="调拨").click()
    page.get_by_role("button", name="确认收货").first.click()
    expect(page.get_by_text(re.compile(r"调拨单 #\d+ 已收货"))).to_be_visible()
    shot("console-transfers")

    page.get_by_role("link", name="待备货/取货").click()
    order = page.locator(f"#order-{site.order_id}")
    order.get_by_role("button", name="已备好，通知取货").click()
    expect(page.get_by_text(f"订单 #{site.order_id} 已备好")).to_be_visible()
    waiting = page.locator(f"#order-{site.order_id}")
    wrong = "000000" if site.pickup_code != "000000" else "111111"
    waiting.get_by_label("买家取货码（6位数字）").fill(wrong)
    waiting.get_by_role("button", name="核验并交付").click()
    expect(page.get_by_text("取货码错误。")).to_be_visible()
    page.locator(f"#order-{site.order_id}").get_by_label("买家取货码（6位数字）").fill(site.pickup_code)
    page.locator(f"#order-{site.order_id}").get_by_role("button", name="核验并交付").click()
    expect(page.get_by_text(f"订单 #{site.order_id} 已交付。")).to_be_visible()
    shot("console-orders")

    page.get_by_role("link", name="智能专柜").click()
    counter = page.locator(f"#counter-{site.counter_id}")
    expect(counter.get_by_text("4.5 ℃")).to_be_visible()
    expect(counter.get_by_text("在线")).to_be_visible()
    shot("console-counters")


def test_an_operator_of_hall_a_never_sees_hall_b(page, site, shot, log_in):
    log_in("operator@demo.cq")
    page.goto(f"/console/locations/{site.fengjie_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text("出错了（404）")
    shot("console-other-hall-refused")
    page.goto("/console/transfers")
    expect(page.get_by_text("奉节消费帮扶专馆")).to_have_count(0)

    page.get_by_role("button", name="退出").click()
    log_in("operator-fengjie@demo.cq")
    expect(page.get_by_role("link", name=re.compile("奉节消费帮扶专馆"))).to_be_visible()
    expect(page.get_by_text("渝中消费帮扶专馆")).to_have_count(0)
    page.goto(f"/console/locations/{site.yuzhong_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text("出错了（404）")
    page.goto("/console/counters")
    expect(page.get_by_text("Hospital smart counter")).to_have_count(0)


def test_notifications_and_cold_chain_alerts_stay_in_their_hall(page, site, shot, log_in):
    log_in("operator@demo.cq")
    page.get_by_role("link", name="通知").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("通知")
    mine = page.locator("#notifications li", has_text="渝中专馆：有SKU低于预警线")
    expect(mine).to_be_visible()
    expect(page.get_by_text("奉节专馆：有SKU低于预警线")).to_have_count(0)  # hall B's inbox is not hall A's
    shot("console-notifications")
    mine.get_by_role("button", name=re.compile("标记为已读")).click()
    expect(page.get_by_text("已标记为已读。")).to_be_visible()
    expect(page.locator("#notifications li", has_text="渝中专馆：有SKU低于预警线").get_by_text("已读")).to_be_visible()

    page.get_by_role("link", name="冷链告警").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("冷链告警（未处理）")
    expect(page.get_by_text("Fengjie hospital cold cabinet")).to_have_count(0)  # hall B's counter
    expect(page.get_by_text("没有冷链告警。")).to_be_visible()
    shot("console-cold-chain-other-hall")

    page.get_by_role("button", name="退出").click()
    log_in("operator-fengjie@demo.cq")
    page.get_by_role("link", name="通知").click()
    expect(page.get_by_text("奉节专馆：有SKU低于预警线")).to_be_visible()
    expect(page.get_by_text("渝中专馆：有SKU低于预警线")).to_have_count(0)
    page.get_by_role("button", name="全部标记为已读").click()
    expect(page.get_by_text(re.compile(r"\d+ 条通知已标记为已读。"))).to_be_visible()

    page.get_by_role("link", name="智能专柜").click()
    cabinet = page.locator("#counters li", has_text="Fengjie hospital cold cabinet")
    expect(cabinet.get_by_text(re.compile("告警：温度超限"))).to_be_visible()
    shot("console-counters-cold-chain-alert")
    cabinet.get_by_role("link", name=re.compile("告警：温度超限")).click()
    incident = page.locator("#incidents > li", has_text="Fengjie hospital cold cabinet")
    expect(incident.get_by_text("隔离中")).to_be_visible()
    expect(incident.get_by_text(re.compile("-COLD"))).to_be_visible()  # the batch's trace code
    shot("console-cold-chain")
    incident.get_by_label("检查说明").first.fill("柜温超限45分钟，李子已软化。")
    incident.get_by_role("button", name="已变质，报损").first.click()
    expect(page.get_by_text("批次已报损。")).to_be_visible()
    expect(page.get_by_text("没有冷链告警。")).to_be_visible()
    page.get_by_role("link", name=re.compile("显示全部")).click()
    resolved = page.locator("#incidents > li", has_text="Fengjie hospital cold cabinet")
    expect(resolved.get_by_text("已报损")).to_be_visible()
    shot("console-cold-chain-resolved")


def test_certifier_decides_applications_objections_and_publishes(page, site, shot, log_in):
    log_in("certifier@demo.cq")
    page.get_by_role("link", name="认定申请").first.click()
    expect(page.get_by_role("heading", name=re.compile("待审核"))).to_be_visible()
    shot("certifier-queue")
    pending = page.locator("li[id^=cert-]").first
    pending.get_by_label("审核意见（可不填）").fill("材料齐全")
    pending.get_by_role("button", name="通过", exact=True).click()
    expect(page.get_by_text(re.compile("已通过，认定证书编号 CQXF-"))).to_be_visible()

    publish = page.locator("#publish").locator("..")
    publish.get_by_label("公示标题").fill("2026年第二批消费帮扶重点产品认定公示")
    publish.get_by_role("button", name="发布公示").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("2026年第二批消费帮扶重点产品认定公示")
    shot("certifier-published-announcement")

    page.goto("/console/objections")
    objection = page.get_by_text("该产品的生产基地不在申报的乡镇，请核实。")
    expect(objection).to_be_visible()
    shot("certifier-objections")
    page.get_by_label("处理说明").first.fill("经核实，生产基地属实。")
    page.get_by_role("button", name="异议不成立").first.click()
    expect(page.get_by_text("异议不成立。")).to_be_visible()

    page.get_by_role("link", name="滞销预警").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("滞销预警（预警与严重）")
    warnings = page.locator("#early-warnings > li")
    expect(warnings.get_by_text("严重").first).to_be_visible()
    expect(warnings.get_by_text("预计滞销占比").first).to_be_visible()
    shot("certifier-early-warnings")


def test_regulator_complaints_flags_and_bulletin_charts(page, site, shot, log_in):
    log_in("regulator@demo.cq")
    page.get_by_role("link", name="投诉").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("投诉")
    expect(page.get_by_text("当前环节期限").first).to_be_visible()
    shot("regulator-complaints")
    page.get_by_role("link", name=re.compile("只看逾期")).click()
    shot("regulator-complaints-overdue")

    page.get_by_role("link", name="价格预警").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("价格预警（未关闭）")
    shot("regulator-price-flags")
    flag = page.locator("td[id^=flag-]").first
    flag.get_by_label("处理说明（可不填）").fill("已约谈供应商，价格已回落。")
    flag.get_by_role("button", name=re.compile("关闭预警")).click()
    expect(page.get_by_text(re.compile(r"价格预警 #\d+ 已关闭。"))).to_be_visible()
    shot("regulator-price-flag-closed")

    page.get_by_role("button", name="退出").click()
    log_in("coordinator@demo.cq")
    page.get_by_role("link", name="通报").first.click()
    page.get_by_role("link", name=re.compile("第 .* 期")).first.click()
    expect(page.locator("[data-chart=districts][data-drawn=true] svg")).to_be_visible()
    expect(page.locator("[data-chart=channels][data-drawn=true]")).to_have_count(1)
    shot("coordinator-bulletin")


def test_keyboard_reaches_the_login_form(page, site):
    page.goto("/login")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="跳到正文")).to_be_focused()
    page.get_by_label("邮箱或手机号").focus()
    page.keyboard.type("operator@demo.cq")
    page.keyboard.press("Tab")
    page.keyboard.type("demo-password")
    page.keyboard.press("Enter")
    page.wait_for_url("**/console")


def test_keyboard_reaches_the_console_sections(page, site, shot, log_in):
    log_in("operator@demo.cq")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="跳到正文")).to_be_focused()
    sections = page.get_by_role("navigation", name="工作台")
    sections.get_by_role("link", name="通知").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/notifications")
    page.get_by_role("link", name="只看未读").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/notifications?unread=1")
    expect(page.get_by_role("heading", level=1)).to_have_text("通知")
    shot("console-notifications-unread-by-keyboard")
