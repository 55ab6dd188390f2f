"""Chinese first: error messages in the language the client asks for, Chinese when it asks for none.

Services and views raise and answer in English (the message ids); the one error response
(`shop.web.error_response`) translates the message and the field messages of `details.fields` here,
keeps the code, and says which language it answered in (`Content-Language`, `Vary: Accept-Language`).

Without an `Accept-Language` header the answer is Chinese: the people this marketplace serves read
Chinese, and the WeChat mini-program, its main front end, sends no `Accept-Language` of its own
(it names its language in the user agent, `Language/zh_CN`). A client that wants English says
`Accept-Language: en`.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import has_request_context, request

from shop.i18n.catalog import catalogue

CHINESE = "zh-CN"
ENGLISH = "en"
DEFAULT_LANGUAGE = CHINESE
# the primary subtag of a requested language → the language we answer in
SUPPORTED = {"zh": CHINESE, "en": ENGLISH}
# the catalogue each answered language reads (English is the language of the message ids)
CATALOGUES = {CHINESE: "zh_CN"}
# the last resort of a message nothing translates: the most general refusal
GENERAL_MESSAGE = "The request cannot be processed."
LANGUAGE_KEY = "shop.language"  # the request's negotiated language, kept in its WSGI environ


def negotiate(accept_language: str | None) -> str:
    """The language to answer in, from an Accept-Language header (`zh-CN`, `zh_CN`, `en-US;q=0.8`, …)."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and quality > 0:
            ranked.append((-quality, index, tag.strip()))
    for _quality, _index, tag in sorted(ranked):
        if tag == "*":
            return DEFAULT_LANGUAGE
        primary = tag.replace("_", "-").split("-", 1)[0].lower()
        if primary in SUPPORTED:
            return SUPPORTED[primary]
    return DEFAULT_LANGUAGE


def current_language() -> str:
    if not has_request_context():
        return ENGLISH
    if LANGUAGE_KEY not in request.environ:
        request.environ[LANGUAGE_KEY] = negotiate(request.headers.get("Accept-Language"))
    return request.environ[LANGUAGE_KEY]


def translate(message: str, fallbacks: Iterable[str] = (), language: str | None = None) -> str:
    """`message` in `language` (the request's by default). A message the catalogue does not know
    (built at run time from data) gives way to the first of `fallbacks` it knows: the error class's
    own message, then its parents'."""
    language = language or current_language()
    if language not in CATALOGUES:
        return message
    messages = catalogue(CATALOGUES[language])
    for text in (message, *fallbacks, GENERAL_MESSAGE):
        found = messages.get(text)
        if found is not None:
            return found
    return message


def translate_fields(value, language: str | None = None):
    """Field messages (`{"field": ["message", …]}`, nested for nested schemas) in `language`."""
    if isinstance(value, str):
        language = language or current_language()
        found = catalogue(CATALOGUES[language]).get(value) if language in CATALOGUES else None
        return value if found is None else found
    if isinstance(value, dict):
        return {key: translate_fields(item, language) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [translate_fields(item, language) for item in value]
    return value
