"""Transform: one getPstnCalls or getDirectRoutingCalls row (raw JSON) into rows to write.

Pure, like :mod:`loader.ingest.transform`, and by the same model tables: documented members are
converted, unknown ones (beta's extra members, later additions) kept as they come.

What a row links to is only what it names itself: its Teams user (the same ``user:<id>``
Endpoint node call records use) and, for Direct Routing, the SBC by trunk FQDN. Phone
numbers are kept as properties only: they may be masked or not E.164 (reference 4.7),
so merging Endpoint nodes on them would join strangers.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..model import LOG_ROW_KIND_BY_LABEL
from .transform import RecordError, convert, make_plan
from .values import FieldError

_PLANS = {label: make_plan(kind.node.props) for label, kind in LOG_ROW_KIND_BY_LABEL.items()}


@dataclass
class LogRow:
    label: str  # PstnCall or DirectRoutingCall
    props: dict
    user: dict | None  # {"key": "user:<id>", "props": {...}} for the Endpoint node
    sbc: str | None  # trunk FQDN


def transform_log_row(row: object, label: str) -> LogRow:
    """Rows for one log row; raises RecordError naming the member when a value is malformed."""
    if not isinstance(row, dict):
        raise RecordError(f"expected a {label} row object, got {type(row).__name__}")
    if not isinstance(row.get("id"), str) or not row["id"].strip():
        raise RecordError("row has no id")
    try:
        props = convert(row, _PLANS[label], "", {})
    except FieldError as exc:
        raise RecordError(str(exc)) from None
    props["source"] = LOG_ROW_KIND_BY_LABEL[label].source
    user = None
    if props.get("userId"):
        node = {"kind": "user", "id": props["userId"]}
        if props.get("userDisplayName"):
            node["displayName"] = props["userDisplayName"]
        if props.get("userPrincipalName"):
            node["userPrincipalName"] = props["userPrincipalName"]
        user = {"key": f"user:{props['userId']}", "props": node}
    sbc = (props.get("trunkFullyQualifiedDomainName") or "").strip().lower() or None
    return LogRow(label, props, user, sbc)
