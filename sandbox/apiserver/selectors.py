"""Label and field selectors: parsing, matching, and the string form Scale carries."""

from __future__ import annotations

import json
import re
from typing import Any, Callable, Mapping

from .errors import bad_request

Requirement = tuple[str, str, frozenset]  # key, operator, values

_SET_TERM = re.compile(r"^\s*([\w./-]+)\s+(in|notin)\s*\(([^()]*)\)\s*$")
_EQ_TERM = re.compile(r"^\s*([\w./-]+)\s*(==|!=|=)\s*([\w.-]*)\s*$")
_EXISTS_TERM = re.compile(r"^\s*(!?)\s*([\w./-]+)\s*$")


def parse_label_selector(text: str) -> list[Requirement]:
    """Parse a label selector string (``a=b,c!=d,e in (x,y),f notin (z),g,!h``)."""
    requirements: list[Requirement] = []
    # Commas inside "in (...)" value sets do not separate requirements.
    for term in re.split(r",(?![^()]*\))", text):
        if not term.strip():
            continue
        if m := _SET_TERM.match(term):
            values = frozenset(v.strip() for v in m.group(3).split(",") if v.strip())
            requirements.append((m.group(1), m.group(2), values))
        elif m := _EQ_TERM.match(term):
            requirements.append((m.group(1), "!=" if m.group(2) == "!=" else "=", frozenset({m.group(3)})))
        elif m := _EXISTS_TERM.match(term):
            requirements.append((m.group(2), "!" if m.group(1) else "exists", frozenset()))
        else:
            raise bad_request(f"unable to parse requirement: {term.strip()!r}")
    return requirements


def selector_requirements(selector: dict) -> list[Requirement]:
    """The requirements of a LabelSelector object (matchLabels + matchExpressions)."""
    operators = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}
    requirements = [(k, "=", frozenset({v})) for k, v in (selector.get("matchLabels") or {}).items()]
    for expr in selector.get("matchExpressions") or []:
        requirements.append(
            (expr.get("key", ""), operators.get(expr.get("operator"), "in"), frozenset(expr.get("values") or ()))
        )
    return requirements


def labels_match(requirements: list[Requirement], labels: dict) -> bool:
    for key, op, values in requirements:
        present = key in labels
        value = labels.get(key)
        if op in ("=", "in") and not (present and value in values):
            return False
        # Kubernetes: "!=" and "notin" also match objects without the label.
        if op in ("!=", "notin") and present and value in values:
            return False
        if op == "exists" and not present:
            return False
        if op == "!" and present:
            return False
    return True


def selector_string(selector: dict) -> str:
    """A LabelSelector object as the string form Scale.status.selector carries."""
    parts = []
    for key, op, values in selector_requirements(selector):
        if op == "=":
            parts.append(f"{key}={next(iter(values))}")
        elif op in ("in", "notin"):
            parts.append(f"{key} {op} ({','.join(sorted(values))})")
        else:
            parts.append(key if op == "exists" else f"!{key}")
    return ",".join(sorted(parts))


def parse_field_selector(text: str) -> list[tuple[str, bool, str]]:
    """Parse ``metadata.name=x,status.phase!=Running`` into (path, negated, value)."""
    terms = []
    for term in text.split(","):
        if not term.strip():
            continue
        m = re.match(r"^\s*([\w.-]+)\s*(==|!=|=)\s*(.*?)\s*$", term)
        if m is None:
            raise bad_request(f"invalid field selector: {term.strip()!r}")
        terms.append((m.group(1), m.group(2) == "!=", m.group(3)))
    return terms


def field_value(obj: dict, path: str) -> str:
    """A field selector operand: any dotted path, missing fields read as ""."""
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if value is None:
        return ""
    return json.dumps(value) if isinstance(value, bool) else str(value)


def object_predicate(query: Mapping[str, str]) -> Callable[[dict], bool]:
    """The labelSelector and fieldSelector of a request's query as one predicate."""
    labels = parse_label_selector(query.get("labelSelector", ""))
    fields = parse_field_selector(query.get("fieldSelector", ""))

    def matches(obj: dict) -> bool:
        return labels_match(labels, obj.get("metadata", {}).get("labels") or {}) and all(
            (field_value(obj, path) == value) != negated for path, negated, value in fields
        )

    return matches
