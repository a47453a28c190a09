"""The Grafana dashboards in ``dashboards/`` and `bot4.obs.dashboards` (no Ray needed).

* Every dashboard loads, has the ``datasource`` and ``symbol`` template variables, and every
  panel a description and the ``${datasource}`` data source.
* Every PromQL expression names only metrics of the catalogue (`bot4.obs.catalogue.BY_NAME`),
  under the names Ray exports (``ray_`` prefix; ``_total`` only on counters, ``_bucket``/
  ``_sum``/``_count`` only on histograms), with only labels that are tags of that metric (or
  ``le`` of a histogram); every catalogue metric is on the dashboard.
* Every expression parses: balanced brackets here, and Prometheus' own parser and evaluator
  through ``promtool test rules`` (part of Debian's ``prometheus`` package, which ``make test``
  installs), which also checks that each expression returns a number from series shaped like
  the ones Ray exports.
* `push` against a stand-in for Grafana: no Grafana server can be installed on this machine
  (Debian has no ``grafana`` package and the network reaches only package registries), so a
  small ``http.server`` on a free loopback port implements the endpoints grafana-client calls
  (``GET``/``POST /api/folders``, ``POST /api/dashboards/db``) and records the requests.
* ``bot4 dashboards list`` and ``bot4 dashboards push``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bot4.cli import main
from bot4.obs.catalogue import BY_NAME, LATENCY_BUCKETS, Spec
from bot4.obs.dashboards import expressions, load_dashboards, panels, push, substitute

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "dashboards"
DASHBOARDS = load_dashboards(FOLDER)
EXPRS = [
    (d["title"], panel.get("title", ""), target)
    for d in DASHBOARDS
    for panel in panels(d)
    for target in panel.get("targets") or []
    if target.get("expr")
]
IDS = [f"{title}: {target['expr']}" for _, title, target in EXPRS]

_METRIC = re.compile(r"\bray_(bot4_[a-z_]+)")
_SELECTOR = re.compile(r"\bray_(bot4_[a-z_]+)\s*\{([^}]*)\}")
_MATCHER = re.compile(r"([a-zA-Z_]\w*)\s*(=~|!~|!=|=)\s*\"")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)")
_LEGEND = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def spec_of(exported: str) -> tuple[Spec, str]:
    """The catalogue spec of an exported name (without ``ray_``) and its suffix."""
    for suffix in ("_total", "_bucket", "_sum", "_count", ""):
        if suffix and not exported.endswith(suffix):
            continue
        base = exported[: len(exported) - len(suffix)] if suffix else exported
        if base in BY_NAME:
            return BY_NAME[base], suffix
    raise AssertionError(f"ray_{exported} is not a metric of bot4.obs.catalogue")


def metrics_of(expr: str) -> list[tuple[Spec, str]]:
    return [spec_of(name) for name in _METRIC.findall(expr)]


def grouping_labels(expr: str) -> set[str]:
    return {x.strip() for group in _GROUPING.findall(expr) for x in group.split(",") if x.strip()}


def balanced(expr: str) -> bool:
    """Brackets pair up outside string literals, and string literals close."""
    pairs = {")": "(", "]": "[", "}": "{"}
    stack: list[str] = []
    quote: str | None = None
    escaped = False
    for ch in expr:
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = None
        elif ch in "\"'`":
            quote = ch
        elif ch in "([{":
            stack.append(ch)
        elif ch in pairs and (not stack or stack.pop() != pairs[ch]):
            return False
    return not stack and quote is None


# --- the dashboard files -------------------------------------------------------------------


def test_the_folder_holds_the_platform_dashboard() -> None:
    assert [d["uid"] for d in DASHBOARDS] == ["bot4-platform"]
    platform = DASHBOARDS[0]
    assert platform["title"] == "bot4 platform"
    assert 36 <= platform["schemaVersion"] <= 41
    assert platform.get("id") is None  # Grafana assigns ids; the uid identifies it


@pytest.mark.parametrize("dashboard", DASHBOARDS, ids=[d["uid"] for d in DASHBOARDS])
def test_every_dashboard_has_the_template_variables(dashboard: dict[str, Any]) -> None:
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    datasource = variables["datasource"]
    assert (datasource["type"], datasource["query"]) == ("datasource", "prometheus")
    symbol = variables["symbol"]
    assert symbol["type"] == "query"
    query = symbol["query"]["query"] if isinstance(symbol["query"], dict) else symbol["query"]
    assert query == "label_values(ray_bot4_orders_total, symbol)"
    assert symbol["multi"] is True
    assert symbol["includeAll"] is True
    assert symbol["datasource"]["uid"] == "${datasource}"


@pytest.mark.parametrize("dashboard", DASHBOARDS, ids=[d["uid"] for d in DASHBOARDS])
def test_every_panel_has_a_description_and_the_datasource_variable(
    dashboard: dict[str, Any],
) -> None:
    ids: list[int] = []
    for panel in panels(dashboard):
        ids.append(panel["id"])
        if panel["type"] == "row":
            continue
        assert panel.get("description"), panel["title"]
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}", panel["title"]
    assert len(ids) == len(set(ids)), "panel ids repeat"


def test_the_drill_down_row_repeats_by_symbol() -> None:
    rows = [p for p in panels(DASHBOARDS[0]) if p["type"] == "row" and p.get("repeat")]
    assert [r["repeat"] for r in rows] == ["symbol"]
    assert "per symbol drill-down" in rows[0]["title"]
    assert rows[0]["collapsed"] is True
    assert len(rows[0]["panels"]) >= 3  # nested, as Grafana keeps a collapsed row's panels


def test_every_catalogue_metric_is_on_a_dashboard() -> None:
    shown = {spec.name for _, _, t in EXPRS for spec, _ in metrics_of(t["expr"])}
    assert shown == set(BY_NAME)


# --- every expression ----------------------------------------------------------------------


RARE_EVENTS = {"bot4_sequence_gaps", "bot4_risk_breaches", "bot4_kill_switch"}


@pytest.mark.parametrize(("dashboard", "panel", "target"), EXPRS, ids=IDS)
def test_an_expression_names_catalogue_metrics_by_kind(
    dashboard: str, panel: str, target: dict[str, Any]
) -> None:
    expr = target["expr"]
    found = metrics_of(expr)
    assert found, f"{panel}: no ray_bot4_ metric in {expr}"
    for spec, suffix in found:
        if spec.kind == "counter":
            assert suffix == "_total", f"{panel}: counter {spec.name} read as {suffix!r}"
            # a raw total only for rare events (increase() would lose their first count)
            raw_ok = spec.name in RARE_EVENTS
            assert raw_ok or "rate(" in expr or "increase(" in expr, f"{panel}: a raw counter"
        elif spec.kind == "histogram":
            assert suffix == "_bucket", f"{panel}: histogram {spec.name} read as {suffix!r}"
            # rates come from counters: a histogram is only read for its quantiles
            assert expr.startswith("histogram_quantile("), panel
        else:
            assert suffix == "", f"{panel}: gauge {spec.name} read as {suffix!r}"


@pytest.mark.parametrize(("dashboard", "panel", "target"), EXPRS, ids=IDS)
def test_an_expression_uses_only_the_metrics_tags(
    dashboard: str, panel: str, target: dict[str, Any]
) -> None:
    expr = target["expr"]
    for name, matchers in _SELECTOR.findall(expr):
        spec, _ = spec_of(name)
        labels = {label for label, _ in _MATCHER.findall(matchers)}
        assert labels <= set(spec.tags), (
            f"{panel}: {spec.name} has no tag {labels - set(spec.tags)}"
        )
        # the symbol filter is on every metric that has a symbol
        if "symbol" in spec.tags:
            assert 'symbol=~"$symbol"' in matchers, f"{panel}: {spec.name} without $symbol"
    grouping = grouping_labels(expr)
    for spec, _ in metrics_of(expr):
        allowed = set(spec.tags) | ({"le"} if spec.kind == "histogram" else set())
        assert grouping <= allowed, f"{panel}: {spec.name} has no tag {grouping - allowed}"
    if grouping:  # after an aggregation, the legend can only name the labels kept
        legend = set(_LEGEND.findall(target.get("legendFormat", "")))
        assert legend <= grouping, f"{panel}: legend names {legend - grouping}"


@pytest.mark.parametrize(("dashboard", "panel", "target"), EXPRS, ids=IDS)
def test_an_expression_has_balanced_brackets(
    dashboard: str, panel: str, target: dict[str, Any]
) -> None:
    assert balanced(target["expr"]), target["expr"]
    assert balanced(substitute(target["expr"]))


def test_the_bracket_check_finds_unbalanced_expressions() -> None:
    assert balanced('sum by (a) (rate(x{a=~"(b"}[1m]))')
    assert not balanced("sum(rate(x[1m])")
    assert not balanced("rate(x[1m)]")
    assert not balanced('x{a="b}')


def test_the_kind_check_refuses_unknown_metrics() -> None:
    with pytest.raises(AssertionError, match="not a metric"):
        spec_of("bot4_no_such_metric_total")
    assert spec_of("bot4_orders_total") == (BY_NAME["bot4_orders"], "_total")
    assert spec_of("bot4_match_latency_seconds_bucket")[1] == "_bucket"
    assert spec_of("bot4_mailbox_depth") == (BY_NAME["bot4_mailbox_depth"], "")


# --- Prometheus' own parser and evaluator ----------------------------------------------------

TAG_VALUES = {
    "symbol": "BTCUSDT", "account": "alice", "type": "LIMIT", "outcome": "NEW",
    "code": "-2010", "liquidity": "MAKER", "quote": "USDT", "asset": "BNB", "state": "HALTED",
    "breaker": "price", "kind": "taker", "path": "submit",
}  # fmt: skip
RAY_LABELS = {"job": "ray", "instance": "127.0.0.1:44217", "SessionName": "session_test",
              "WorkerId": "a1b2", "Component": "core_worker"}  # fmt: skip
STEPS = 80  # 15 s apart: 20 minutes of samples


def _series(name: str, labels: dict[str, str], values: str) -> dict[str, str]:
    text = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return {"series": f"{name}{{{text}}}", "values": values}


def ray_like_series() -> list[dict[str, str]]:
    """Every catalogue metric as Ray's metrics agent exports it, with made-up values."""
    out: list[dict[str, str]] = []
    for spec in BY_NAME.values():
        labels = {**RAY_LABELS, **{tag: TAG_VALUES[tag] for tag in spec.tags}}
        name = f"ray_{spec.name}"
        if spec.kind == "counter":
            out.append(_series(f"{name}_total", labels, f"0+10x{STEPS}"))
        elif spec.kind == "gauge":
            out.append(_series(name, labels, f"1x{STEPS}"))
        else:
            bounds = LATENCY_BUCKETS[::5]
            for i, le in enumerate([*map(str, bounds), "+Inf"]):
                per_step = min(10, 1 + i)  # cumulative counts grow toward +Inf
                out.append(_series(f"{name}_bucket", {**labels, "le": le}, f"0+{per_step}x{STEPS}"))
            out.append(_series(f"{name}_count", labels, f"0+10x{STEPS}"))
            out.append(_series(f"{name}_sum", labels, f"0+0.01x{STEPS}"))
    return out


def test_promtool_parses_and_evaluates_every_expression(tmp_path: Path) -> None:
    """Each expression (variables substituted) is valid PromQL and gives at least one number
    (not NaN) from Ray-like series of every catalogue metric."""
    promtool = shutil.which("promtool") or "/usr/bin/promtool"
    if not Path(promtool).exists():
        pytest.fail(
            "promtool is missing: it comes with Debian's prometheus package; install it with "
            "'apt-get install -y prometheus' (make test does when run as root)"
        )
    tests = [
        {
            "expr": f"count(({substitute(target['expr'])}) >= 0) > bool 0",
            "eval_time": "15m",
            "exp_samples": [{"labels": "{}", "value": 1}],
        }
        for _, _, target in EXPRS
    ]
    doc = {
        "rule_files": [],
        "evaluation_interval": "15s",
        "tests": [{"interval": "15s", "input_series": ray_like_series(),
                   "promql_expr_test": tests}],
    }  # fmt: skip
    spec = tmp_path / "dashboards_test.yml"
    spec.write_text(json.dumps(doc, indent=1), encoding="utf-8")  # YAML is a superset of JSON
    done = subprocess.run(
        [promtool, "test", "rules", str(spec)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_promtool_catches_a_broken_expression(tmp_path: Path) -> None:
    """The check above would fail on an expression Prometheus cannot parse."""
    promtool = shutil.which("promtool") or "/usr/bin/promtool"
    if not Path(promtool).exists():
        pytest.fail("promtool is missing: apt-get install -y prometheus")
    doc = {
        "rule_files": [],
        "tests": [{"interval": "15s", "input_series": ray_like_series()[:1],
                   "promql_expr_test": [{"expr": "sum by (symbol (rate(x[1m]))",
                                         "eval_time": "1m", "exp_samples": []}]}],
    }  # fmt: skip
    spec = tmp_path / "broken.yml"
    spec.write_text(json.dumps(doc), encoding="utf-8")
    done = subprocess.run(
        [promtool, "test", "rules", str(spec)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0


# --- expressions() -------------------------------------------------------------------------


def test_expressions_walks_nested_rows_and_substitutes_the_variables() -> None:
    dashboard = {
        "title": "t",
        "panels": [
            {"type": "timeseries", "targets": [{"expr": 'a{symbol=~"$symbol"}[$__rate_interval]'}]},
            {"type": "row", "collapsed": True, "panels": [
                {"type": "stat", "targets": [{"expr": "increase(b[$__range])"},
                                             {"expr": ""}, {"refId": "no expr"}]},
                {"type": "row", "panels": [
                    {"type": "timeseries", "targets": [{"expr": "c[${__interval}] ${symbol}"}]}
                ]},
            ]},
            {"type": "text"},
            {"type": "timeseries", "targets": [{"expr": "d{x=\"$unknown\"}"}]},
        ],
    }  # fmt: skip
    assert expressions(dashboard) == [
        'a{symbol=~".*"}[1m]',
        "increase(b[5m])",
        "c[5m] .*",
        'd{x="$unknown"}',
    ]
    assert expressions(dashboard, substitute_variables=False)[0] == (
        'a{symbol=~"$symbol"}[$__rate_interval]'
    )


def test_the_platform_dashboard_expressions() -> None:
    exprs = expressions(DASHBOARDS[0])
    assert len(exprs) == len(EXPRS)
    assert not [e for e in exprs if "$" in e]
    assert (
        "histogram_quantile(0.999, sum by (le, symbol) "
        '(rate(ray_bot4_match_latency_seconds_bucket{symbol=~".*"}[1m])))'
    ) in exprs


def test_load_dashboards_refuses_what_is_not_a_dashboard(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text('{"title": "x"}', encoding="utf-8")
    with pytest.raises(ValueError, match="not a Grafana dashboard"):
        load_dashboards(tmp_path)
    (tmp_path / "a.json").write_text("{", encoding="utf-8")
    with pytest.raises(ValueError, match="not JSON"):
        load_dashboards(tmp_path)
    with pytest.raises(ValueError, match="not a folder"):
        load_dashboards(tmp_path / "missing")


# --- push() against a stand-in Grafana -------------------------------------------------------


class FakeGrafana:
    """The part of Grafana's HTTP API that `push` uses, on a free loopback port, recording
    every request (method, path, Authorization header, JSON body)."""

    def __init__(self, token: str = "glsa_test_token") -> None:
        self.token = token
        self.requests: list[dict[str, Any]] = []
        self.folders: list[dict[str, Any]] = [{"id": 1, "uid": "other", "title": "Ray"}]
        self.dashboards: dict[str, dict[str, Any]] = {}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                fake.requests.append({"method": self.command, "path": self.path,
                                      "auth": self.headers.get("Authorization"),
                                      "body": body})  # fmt: skip
                if self.headers.get("Authorization") != f"Bearer {fake.token}":
                    self._answer(401, {"message": "invalid API key"})
                    return
                status, answer = fake.route(self.command, self.path.split("?")[0], body)
                self._answer(status, answer)

            do_GET = do_POST = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def route(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        if (method, path) == ("GET", "/api/folders"):
            return 200, self.folders
        if (method, path) == ("POST", "/api/folders"):
            folder = {
                "id": len(self.folders) + 1,
                "uid": body.get("uid") or "generated",
                "title": body["title"],
                "url": f"/dashboards/f/{body.get('uid')}/",
            }
            self.folders.append(folder)
            return 200, folder
        if (method, path) == ("POST", "/api/dashboards/db"):
            dashboard = body["dashboard"]
            uid = dashboard["uid"]
            old = self.dashboards.get(uid)
            if old is not None and not body.get("overwrite"):
                return 412, {"message": "A dashboard with the same uid already exists",
                             "status": "name-exists"}  # fmt: skip
            version = (old["version"] + 1) if old else 1
            self.dashboards[uid] = {"version": version, "body": body}
            slug = re.sub(r"[^a-z0-9]+", "-", dashboard["title"].lower()).strip("-")
            return 200, {"id": 7, "uid": uid, "url": f"/d/{uid}/{slug}", "status": "success",
                         "version": version, "slug": slug}  # fmt: skip
        return 404, {"message": "Not found"}

    def __enter__(self) -> FakeGrafana:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@pytest.fixture()
def grafana(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGrafana]:
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
                "ALL_PROXY"):  # fmt: skip
        monkeypatch.delenv(var, raising=False)  # loopback only, never through a proxy
    with FakeGrafana() as fake:
        yield fake


def test_push_creates_the_folder_and_sends_each_dashboard(grafana: FakeGrafana) -> None:
    results = push(grafana.url, grafana.token, DASHBOARDS)
    calls = [(r["method"], r["path"].split("?")[0]) for r in grafana.requests]
    assert calls == [("GET", "/api/folders"), ("POST", "/api/folders"),
                     *[("POST", "/api/dashboards/db")] * len(DASHBOARDS)]  # fmt: skip
    assert {r["auth"] for r in grafana.requests} == {"Bearer glsa_test_token"}
    assert grafana.requests[1]["body"] == {"title": "bot4", "uid": "bot4"}
    sent = grafana.requests[2]["body"]
    assert sent["folderUid"] == "bot4"
    assert sent["overwrite"] is True
    expected = {k: v for k, v in DASHBOARDS[0].items() if k != "id"}
    assert sent["dashboard"] == expected  # the whole JSON arrives, without an id
    assert results == [{"title": "bot4 platform", "uid": "bot4-platform",
                        "url": f"{grafana.url}/d/bot4-platform/bot4-platform", "version": 1,
                        "status": "success", "folderUid": "bot4"}]  # fmt: skip


def test_push_again_finds_the_folder_and_overwrites(grafana: FakeGrafana) -> None:
    push(grafana.url, grafana.token, DASHBOARDS, folder_title="Trading desk")
    grafana.requests.clear()
    results = push(grafana.url, grafana.token, DASHBOARDS, folder_title="Trading desk")
    assert [r["method"] for r in grafana.requests] == ["GET", "POST"]  # no second folder
    assert grafana.requests[1]["body"]["folderUid"] == "trading-desk"
    assert results[0]["version"] == 2
    grafana.requests.clear()
    from grafana_client.client import GrafanaClientError

    with pytest.raises(GrafanaClientError, match="412"):
        push(grafana.url, grafana.token, DASHBOARDS, folder_title="Trading desk",
             overwrite=False)  # fmt: skip


def test_push_with_a_wrong_token_is_refused(grafana: FakeGrafana) -> None:
    from grafana_client.client import GrafanaUnauthorizedError

    with pytest.raises(GrafanaUnauthorizedError):
        push(grafana.url, "wrong", DASHBOARDS)
    assert grafana.requests[0]["auth"] == "Bearer wrong"
    assert grafana.dashboards == {}


def test_push_returns_urls_without_credentials(grafana: FakeGrafana) -> None:
    host = grafana.url.removeprefix("http://")
    results = push(f"http://user:secret@{host}/", grafana.token, DASHBOARDS)
    assert results[0]["url"] == f"{grafana.url}/d/bot4-platform/bot4-platform"
    # the token wins over the URL's user and password
    assert {r["auth"] for r in grafana.requests} == {"Bearer glsa_test_token"}


# --- the command line ----------------------------------------------------------------------


def test_cli_list_prints_titles_and_expressions(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dashboards", "list", "--folder", str(FOLDER)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"bot4 platform (uid bot4-platform, {len(EXPRS)} expressions)"
    assert [line.strip() for line in lines[1:]] == expressions(DASHBOARDS[0])
    assert main(["dashboards", "list", "--folder", str(FOLDER), "--raw"]) == 0
    raw = capsys.readouterr().out
    assert 'symbol=~"$symbol"' in raw
    assert "[$__rate_interval]" in raw


def test_cli_list_of_an_empty_folder_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["dashboards", "list", "--folder", str(tmp_path)]) == 2
    assert "no dashboard" in capsys.readouterr().err


def test_cli_push_takes_the_token_from_the_environment(
    grafana: FakeGrafana, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GRAFANA_TOKEN", grafana.token)
    assert main(["dashboards", "push", "--url", grafana.url, "--folder", str(FOLDER)]) == 0
    out = capsys.readouterr().out
    assert f"bot4 platform: success version 1 {grafana.url}/d/bot4-platform/" in out
    assert grafana.requests[-1]["auth"] == f"Bearer {grafana.token}"
    monkeypatch.delenv("GRAFANA_TOKEN")
    argv = ["dashboards", "push", "--url", grafana.url, "--token", "nope", "--folder", str(FOLDER)]
    assert main(argv) == 1
    assert "401" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["dashboards", "--help"], ["dashboards", "push", "--help"]])
def test_cli_dashboards_help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 0
    assert "usage: bot4 dashboards" in capsys.readouterr().out
