"""The Grafana dashboards in ``dashboards/``: load them, list their PromQL, push them to Grafana.

* `load_dashboards(folder)`: every ``*.json`` dashboard of a folder, parsed, by file name.
* `expressions(dashboard)`: the PromQL ``expr`` of every panel's targets (rows' nested
  ``panels`` included), with Grafana's template variables replaced by values Prometheus can
  evaluate (``$symbol`` -> ``.*``, ``$__rate_interval`` -> ``1m``, ``$__range`` and
  ``$__interval`` -> ``5m``), or as written with ``substitute=False``.
* `push(url, token, dashboards)`: create (or find) a Grafana folder and create or overwrite each
  dashboard in it through Grafana's HTTP API, with the ``grafana-client`` package; returns what
  Grafana answered for each (uid, URL, version, status).

The metric names are the ones Ray exports (``ray_`` prefix, ``_total`` on counters); see
`bot4.obs.catalogue`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

DEFAULT_FOLDER = Path("dashboards")

# what Grafana's variables stand for when an expression is evaluated outside Grafana
SUBSTITUTIONS: dict[str, str] = {
    "symbol": ".*",
    "__rate_interval": "1m",
    "__range": "5m",
    "__interval": "5m",
    "datasource": "",
}
_VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)")


def load_dashboards(folder: str | Path = DEFAULT_FOLDER) -> list[dict[str, Any]]:
    """Every ``*.json`` file of `folder` (sorted by name), parsed; each must be a dashboard
    (an object with a ``title`` and ``panels``). Raises ValueError otherwise."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder of dashboards")
    dashboards: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.json")):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not JSON: {exc}") from exc
        if not isinstance(doc, dict) or "title" not in doc or "panels" not in doc:
            raise ValueError(f"{path}: not a Grafana dashboard (no title or panels)")
        dashboards.append(doc)
    return dashboards


def panels(dashboard: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, depth first: rows and the panels nested in them (collapsed rows keep their
    panels in ``panels``)."""
    stack = list(reversed(dashboard.get("panels") or []))
    while stack:
        panel = stack.pop()
        yield panel
        stack.extend(reversed(panel.get("panels") or []))


def substitute(expr: str, values: Mapping[str, str] = SUBSTITUTIONS) -> str:
    """`expr` with ``$name`` and ``${name}`` replaced from `values` (unknown names stay)."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return values.get(name, match.group(0))

    return _VARIABLE.sub(one, expr)


def expressions(dashboard: Mapping[str, Any], *, substitute_variables: bool = True) -> list[str]:
    """The PromQL of every target of every panel (nested ones included), in panel order, with
    the template variables substituted for evaluation unless `substitute_variables` is false."""
    found: list[str] = []
    for panel in panels(dashboard):
        for target in panel.get("targets") or []:
            expr = target.get("expr")
            if isinstance(expr, str) and expr.strip():
                found.append(substitute(expr) if substitute_variables else expr)
    return found


def _find_or_create_folder(api: Any, title: str) -> str:
    """The uid of the top-level Grafana folder called `title`, created when missing."""
    for folder in api.folder.get_all_folders() or []:
        if folder.get("title") == title:
            return str(folder["uid"])
    uid = re.sub(r"[^a-zA-Z0-9_-]+", "-", title).strip("-").lower()[:40] or "bot4"
    created = api.folder.create_folder(title, uid=uid)
    return str(created["uid"])


def _public_base(url: str) -> str:
    """`url` without credentials, query or trailing slash (where Grafana's paths hang)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def push(
    url: str,
    token: str | None,
    dashboards: Sequence[Mapping[str, Any]],
    folder_title: str = "bot4",
    overwrite: bool = True,
) -> list[dict[str, Any]]:
    """Create or overwrite each dashboard in the Grafana folder `folder_title` (created when
    missing) of the Grafana at `url`, authenticating with the bearer `token` (a service account
    token; None: credentials from the URL, ``http://user:password@host:3000``, or none).

    Each dashboard is matched by its ``uid``: pushing again replaces it (with `overwrite`).
    Returns, per dashboard, Grafana's answer: ``title``, ``uid``, ``url`` (absolute),
    ``version``, ``status`` and ``folderUid``.
    """
    # = `from grafana_client import GrafanaApi`, which mypy's strict no-implicit-reexport refuses
    from grafana_client.api import GrafanaApi

    api: Any = GrafanaApi.from_url(url, credential=token)
    folder_uid = _find_or_create_folder(api, folder_title)
    base = _public_base(url)
    results: list[dict[str, Any]] = []
    for dashboard in dashboards:
        body = {k: v for k, v in dashboard.items() if k != "id"}  # Grafana's id, not ours
        answer = api.dashboard.update_dashboard(
            {
                "dashboard": body,
                "folderUid": folder_uid,
                "overwrite": overwrite,
                "message": "bot4 dashboards push",
            }
        )
        path = str(answer.get("url", ""))
        results.append(
            {
                "title": body.get("title"),
                "uid": answer.get("uid", body.get("uid")),
                "url": base + path if path.startswith("/") else path,
                "version": answer.get("version"),
                "status": answer.get("status"),
                "folderUid": folder_uid,
            }
        )
    return results
