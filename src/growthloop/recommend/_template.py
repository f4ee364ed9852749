"""``recommendations(n)`` for message templates: the served recommendations of the customer
being messaged, as a function a template calls.

A campaign renders one message per customer; it binds the function to that customer and adds it
to the template's globals (Jinja2, as the report uses):

    {% for item in recommendations(3) %}{{ item.name }} ({{ item.reason }}){% endfor %}

Each item is a dict with ``rank``, ``item_id``, ``name``, ``score``, ``reason_code`` and
``reason``, the fields of ``GET /v1/recommendations/{customer_id}``, from the same answer: the
customer's update since the build, their precomputed list, or popularity in their segment when
they have no history. Calls for one customer are answered once per ``n``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from growthloop.errors import ModelError
from growthloop.recommend._answers import StoreOpener, recommendations_for
from growthloop.recommend._serving import ServingModel, check_n

__all__ = ["TemplateRecommendations", "template_recommendations"]

#: ``recommendations(n=3)`` -> the first ``n`` recommended items, as dicts.
TemplateRecommendations = Callable[..., list[dict[str, Any]]]


def template_recommendations(
    serving: ServingModel, customer: str, *, open_store: StoreOpener
) -> TemplateRecommendations:
    """The ``recommendations(n=3)`` function of ``customer`` (any identity) for a template.

    The customer is resolved on the first call (NotFoundError when nobody has the identity);
    ``n`` outside 1 to 100 is a ModelError naming the template call.
    """
    answered: dict[int, list[dict[str, Any]]] = {}

    def recommendations(n: int = 3) -> list[dict[str, Any]]:
        try:
            size = check_n(n)
        except ModelError as exc:
            raise ModelError(f"in the template call recommendations({n!r}): {exc}") from None
        if size not in answered:
            answer = recommendations_for(serving, customer, n=size, open_store=open_store)
            answered[size] = [item.to_dict() for item in answer.items]
        return [dict(item) for item in answered[size]]

    return recommendations
