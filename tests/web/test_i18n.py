"""Chinese first: every error message has a Chinese translation; the client's Accept-Language picks
the language (Chinese without one), the code never changes."""

from __future__ import annotations

import pytest

from shop import i18n
from shop.errors import NotFound
from shop.i18n.catalog import PLACEHOLDER, catalogue, po_path, read_translations
from shop.i18n.messages import all_messages, error_classes

ZH = catalogue("zh_CN")


def test_every_domain_error_has_a_chinese_message():
    classes = error_classes()
    assert len(classes) > 90  # every slice's errors were found
    missing = [cls.__qualname__ for cls in classes if ZH.get(cls.message) is None]
    assert not missing, "DomainError classes without a zh translation (`flask i18n extract`):\n" + "\n".join(missing)


def test_every_message_the_code_and_the_http_layer_answer_has_a_chinese_translation():
    missing = [f"{where}: {message}" for message, where in all_messages().items() if ZH.get(message) is None]
    assert not missing, "messages without a zh translation (run `flask i18n extract`):\n" + "\n".join(missing)


def test_translations_keep_their_placeholders():
    bad = [
        msgid
        for msgid, msgstr in read_translations(po_path("zh_CN")).items()
        if sorted(PLACEHOLDER.findall(msgid)) != sorted(PLACEHOLDER.findall(msgstr))
    ]
    assert not bad


def test_formatted_messages_find_their_translation():
    moved = ZH.get("A order in state 'paid' cannot move to 'cancelled'.")
    assert moved == '处于"paid"状态的order不能变为"cancelled"。'
    ranged = ZH.get("Must be greater than or equal to 1 and less than or equal to 100.")
    assert ranged == "须大于或等于 1 且小于或等于 100。"
    assert ZH.get("Something nobody wrote.") is None


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "zh-CN"),
        ("", "zh-CN"),
        ("zh-CN", "zh-CN"),
        ("zh_CN", "zh-CN"),  # as the mini-program names its language
        ("zh-Hans-CN,zh;q=0.9", "zh-CN"),
        ("zh-TW", "zh-CN"),
        ("en", "en"),
        ("en-US,en;q=0.9", "en"),
        ("fr-FR, en;q=0.5, zh;q=0.4", "en"),
        ("en;q=0.3, zh-CN;q=0.8", "zh-CN"),
        ("fr", "zh-CN"),
        ("*", "zh-CN"),
        ("en;q=0", "zh-CN"),
        ("en;q=abc", "zh-CN"),
    ],
)
def test_the_language_is_negotiated(header, language):
    assert i18n.negotiate(header) == language


def get(client, url, language=None, **kwargs):
    headers = {**kwargs.pop("headers", {}), **({"Accept-Language": language} if language else {})}
    return client.get(url, headers=headers, **kwargs)


def test_a_domain_error_in_chinese_and_in_english(client):
    chinese = get(client, "/api/v1/products/999999")
    english = get(client, "/api/v1/products/999999", "en-US,en;q=0.9")
    assert chinese.status_code == english.status_code == 404
    assert chinese.json["error"]["code"] == english.json["error"]["code"] == "not_found"
    assert chinese.json["error"]["message"] == "没有该产品，或其当前未处于认定有效期内。"
    assert english.json["error"]["message"] == "No such product, or it is not certified now."
    assert chinese.headers["Content-Language"] == "zh-CN" and english.headers["Content-Language"] == "en"
    assert "Accept-Language" in chinese.headers["Vary"]


def test_the_mini_program_without_accept_language_reads_chinese(client):
    ua = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) MicroMessenger/8.0.47 NetType/WIFI Language/zh_CN"
    response = get(client, "/api/v1/cart", headers={"User-Agent": ua, "Referer": "https://servicewechat.com/wx1/1/"})
    assert response.status_code == 401 and response.json["error"]["code"] == "unauthenticated"
    assert response.json["error"]["message"] == "需要提供 Bearer 令牌。"
    assert response.headers["Content-Language"] == "zh-CN"
    assert get(client, "/api/v1/cart", "en").json["error"]["message"] == "A bearer token is required."


def test_validation_errors_translate_the_generic_and_the_field_messages(client):
    chinese = get(client, "/api/v1/products?size=1000&page=x")
    english = get(client, "/api/v1/products?size=1000&page=x", "en")
    assert chinese.status_code == english.status_code == 422
    assert chinese.json["error"]["code"] == english.json["error"]["code"] == "invalid_input"
    assert chinese.json["error"]["message"] == "部分字段无效。"
    assert english.json["error"]["message"] == "Some fields are not valid."
    fields = chinese.json["error"]["details"]["fields"]
    assert fields["page"] == ["不是有效的整数。"]
    assert fields["size"] == ["须大于或等于 1 且小于或等于 100。"]
    assert english.json["error"]["details"]["fields"]["page"] == ["Not a valid integer."]


def test_nested_field_messages_and_missing_fields(client, make):
    headers = make.headers(make.user())
    body = {"delivery_address": {"name": ""}, "points": -1, "bogus": 1}
    response = client.post("/api/v1/orders", headers=headers, json=body)
    fields = response.json["error"]["details"]["fields"]
    assert response.status_code == 422
    assert fields["delivery_address"]["phone"] == ["缺少必填字段。"]
    assert fields["delivery_address"]["name"] == ["长度须在 1 到 100 之间。"]
    assert fields["points"] == ["须大于或等于 0 且小于或等于 10000000。"]
    assert fields["bogus"] == ["未知字段。"]


def test_http_layer_errors(client):
    wrong_method = client.delete("/api/v1/health")
    assert wrong_method.status_code == 405 and wrong_method.json["error"]["code"] == "method_not_allowed"
    assert wrong_method.json["error"]["message"] == "该网址不允许此请求方法。"
    nowhere = get(client, "/api/v1/nowhere")
    assert nowhere.json["error"]["message"].startswith("服务器上未找到请求的网址")
    garbled = get(client, "/api/v1/auth/me", headers={"Authorization": "Bearer not-a-token"})
    assert garbled.status_code == 401 and garbled.json["error"]["code"] == "invalid_token"
    assert garbled.json["error"]["message"] == "令牌无效。"


def test_a_message_built_from_data_falls_back_to_its_class_message(app):
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        error = NotFound(f"Nothing at shelf {42}.")
        fallbacks = tuple(c.__dict__["message"] for c in type(error).__mro__ if "message" in c.__dict__)
        assert i18n.translate(error.message, fallbacks) == "未找到。"
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert i18n.translate("Nothing at shelf 42.", ("Not found.",)) == "Nothing at shelf 42."
