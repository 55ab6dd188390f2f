"""Relevance boosts: multiply the score of products whose boolean document field is true.

Built in: products from poverty-alleviated districts (`SEARCH_BOOST_POVERTY_ALLEVIATED`), from
deep-poverty townships (`SEARCH_BOOST_DEEP_POVERTY`), and produce the monitoring slice wants sold
(`SEARCH_BOOST_AT_RISK_UNSOLD`: in an open absorption campaign, or at warning or critical risk of
going unsold); they multiply where several apply.

The hook for later boosts: add the boolean field to the document (see `search.documents`), then

    register_boost("field", "SEARCH_BOOST_FIELD", default=2.0)

and both backends apply it; a weight of 1 switches a boost off.
"""

from __future__ import annotations

from collections.abc import Mapping

from search.backend import Boost

# (document field, configuration key, default weight)
RULES: list[tuple[str, str, float]] = [
    ("poverty_alleviated", "SEARCH_BOOST_POVERTY_ALLEVIATED", 1.5),
    ("deep_poverty", "SEARCH_BOOST_DEEP_POVERTY", 2.0),
    ("at_risk_unsold", "SEARCH_BOOST_AT_RISK_UNSOLD", 3.0),
]


def register_boost(field: str, config_key: str, default: float) -> None:
    if all(rule[0] != field for rule in RULES):
        RULES.append((field, config_key, default))


def boosts(config: Mapping) -> tuple[Boost, ...]:
    rules = (Boost(field, float(config.get(key, default))) for field, key, default in RULES)
    return tuple(rule for rule in rules if rule.weight != 1.0)
