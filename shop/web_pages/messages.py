"""The Chinese words the pages use for the domain's states and refusals. A code without a sentence
here shows the service's own (English) message, so a new code is never hidden."""

from __future__ import annotations

from shop.errors import DomainError

ERRORS = {
    "bad_credentials": "登录名或密码错误。",
    "invalid_input": "输入有误。",
    "forbidden": "您没有执行此操作的权限。",
    "not_found": "未找到，或不在您的管辖范围内。",
    "illegal_transition": "当前状态下不能执行此操作。",
    "out_of_stock": "可售库存不足。",
    "not_certified": "该产品的认定当前不在有效期内。",
    "location_inactive": "该网点已停用。",
    "count_below_reserved": "盘点数量少于已预留数量，请先释放预留。",
    "trace_code_mismatch": "该追溯码属于另一个SKU或日期不同的批次。",
    "wrong_pickup_code": "取货码错误。",
    "pickup_locked": "取货码错误次数过多，已锁定，请买家重新获取取货码。",
    "not_awaiting_pickup": "该订单不在待取货状态。",
    "not_pickup": "该订单不是自提订单。",
    "not_ready": "该订单尚未备好。",
    "objection_window_closed": "异议期已结束。",
    "not_objectable": "该认定已不接受异议。",
    "objection_decided": "该异议已处理。",
    "rate_limited": "操作过于频繁，请稍后再试。",
}

STATES = {
    # certifications
    "pending": "待审核",
    "approved": "已通过待公示",
    "rejected": "未通过",
    "published": "已公示",
    "objected": "异议中",
    "withdrawn": "已撤回",
    "revoked": "已撤销",
    "suspended": "已暂停",
    "in_objection_window": "公示期内",
    "in_force": "有效",
    "expired": "已过期",
    # objections
    "open": "待处理",
    "upheld": "成立",
    "dismissed": "不成立",
    # orders
    "pending_payment": "待付款",
    "paid": "已付款待备货",
    "ready_for_pickup": "待取货",
    "shipped": "已发货",
    "completed": "已完成",
    "cancelled": "已取消",
    "partially_refunded": "部分退款",
    "refunded": "已退款",
    # transfers
    "in_transit": "在途",
    "received": "已收货",
    # complaints
    "filed": "已提交",
    "accepted": "已受理",
    "awaiting_supplier": "待供应商答复",
    "decided": "已决定",
    "closed": "已关闭",
    # price flags
    "justified": "已说明",
    "corrected": "已更正",
}

NOTIFICATION_KINDS = {
    "order_paid": "订单已付款",
    "order_ready_for_pickup": "订单待取货",
    "order_shipped": "订单已发货",
    "order_refunded": "订单已退款",
    "after_sales_requested": "售后申请",
    "after_sales_decided": "售后处理结果",
    "after_sales_escalated": "售后转为投诉",
    "complaint_updated": "投诉进展",
    "complaint_awaiting_supplier": "投诉待供应商答复",
    "certification_decided": "认定审核结果",
    "low_stock": "低库存提醒",
    "early_warning": "滞销预警",
    "campaign_allocation": "消纳行动分配",
    "cold_chain_alert": "冷链告警",
}

KINDS = {"centre": "运营中心", "hall": "专馆", "counter": "专柜", "zone": "专区"}

WEEKDAYS = {"mon": "周一", "tue": "周二", "wed": "周三", "thu": "周四", "fri": "周五", "sat": "周六", "sun": "周日"}

LABELS = {"geographical_indication": "地理标志", "green_food": "绿色食品", "organic": "有机产品"}

BRAND_TIERS = {"regional_public": "区域公用品牌", "district_public": "区县公用品牌", "enterprise": "企业品牌"}


def error_text(error: DomainError) -> str:
    return ERRORS.get(str(error.code), error.message)


def state(value) -> str:
    value = getattr(value, "value", value)
    return STATES.get(str(value), str(value))
