"""The alert rules and the Grafana dashboard (monitoring/) use only metrics scanbot exports.

Every metric name in their PromQL is looked up in the registry that :class:`Metrics` builds (the
one ``GET /metrics`` serves).  CI also runs ``promtool check rules`` and ``promtool test rules``
on them (``.ci/deploy-checks.sh``); these tests check what promtool cannot know.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import yaml

from bot.process.metrics import Metrics, StateSample

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "monitoring"
#: Prometheus's own series about a scrape (not exported by scanbot, always there).
PROMETHEUS_OWN = {"up"}
#: Names the alert rules already use for state the bot does not export yet.  When they are
#: exported, the strict xfail below fails: drop the names from this set.
_SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "gauge": ("",),
}


def exported_names() -> set[str]:
    """Every series name the Metrics registry can expose, its scrape-time gauges included."""
    metrics = Metrics()
    every_gauge: dict[str, Any] = {field.name: 1 for field in dataclasses.fields(StateSample)}
    metrics.watch_state(lambda: StateSample(**every_gauge))
    names: set[str] = set()
    for family in metrics.registry.collect():
        names.update(family.name + suffix for suffix in _SUFFIXES[family.type])
    return names


def alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load((MONITORING / "alerts.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    return loaded


def dashboard_exprs() -> list[str]:
    return [
        target["expr"] for panel in dashboard()["panels"] for target in panel.get("targets", [])
    ]


def metric_names(expr: str) -> set[str]:
    """Series names in a PromQL expression: scanbot's own and Prometheus's ``up``."""
    names = set(re.findall(r"\bscanbot_[a-z0-9_]+\b", expr))
    names.update(name for name in PROMETHEUS_OWN if re.search(rf"\b{name}\{{", expr))
    return names


def test_the_registry_lists_the_documented_series() -> None:
    """The lookup itself works: counters with _total, histograms with _bucket, gauges bare."""
    names = exported_names()
    assert "scanbot_poll_cycles_total" in names
    assert "scanbot_command_ack_seconds_bucket" in names
    assert "scanbot_outbox_pending" in names
    assert "scanbot_poll_cycles" not in names


def test_the_dashboard_uses_only_exported_metrics() -> None:
    exported = exported_names() | PROMETHEUS_OWN
    exprs = dashboard_exprs()
    assert len(exprs) >= 15
    for expr in exprs:
        names = metric_names(expr)
        assert names, f"no metric in {expr!r}"
        assert names <= exported, f"{expr!r} uses {sorted(names - exported)}"


def test_the_alert_rules_use_only_exported_metrics_or_the_listed_pending_ones() -> None:
    exported = exported_names() | PROMETHEUS_OWN
    used: set[str] = set()
    for rule in alert_rules():
        names = metric_names(rule["expr"])
        assert names, f"{rule['alert']}: no metric in its expression"
        unknown = names - exported
        assert not unknown, f"{rule['alert']} uses {sorted(unknown)}, which scanbot never exports"
        used |= names


def test_every_alert_has_a_severity_a_summary_a_description_and_a_for() -> None:
    rules = alert_rules()
    assert len(rules) >= 6
    assert len({rule["alert"] for rule in rules}) == len(rules)
    for rule in rules:
        assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
        assert rule["annotations"].keys() >= {"summary", "description"}, rule["alert"]
        assert re.fullmatch(r"\d+[mh]", rule["for"]), rule["alert"]


def test_every_alert_has_a_firing_case_and_a_quiet_case_in_the_promtool_tests() -> None:
    tests = yaml.safe_load((MONITORING / "alerts.test.yml").read_text())["tests"]
    firing: set[str] = set()
    quiet: set[str] = set()
    for case in tests:
        for check in case["alert_rule_test"]:
            (firing if check["exp_alerts"] else quiet).add(check["alertname"])
    names = {rule["alert"] for rule in alert_rules()}
    assert names <= firing, f"never shown firing: {sorted(names - firing)}"
    assert names <= quiet, f"never shown quiet: {sorted(names - quiet)}"


def test_the_alerts_cover_what_operators_must_hear_about() -> None:
    """No poll, outbox growing, old undelivered messages, console errors, Slack token, regular
    scan overdue: each has a rule on the metric that shows it."""
    by_metric = {name for rule in alert_rules() for name in metric_names(rule["expr"])}
    assert {
        "scanbot_last_successful_poll_age_seconds",
        "scanbot_outbox_pending",
        "scanbot_outbox_oldest_pending_seconds",
        "scanbot_console_requests_total",
        "scanbot_slack_token_refused",
        "scanbot_slack_calls_total",
        "scanbot_last_regular_scan_completion_timestamp_seconds",
    } <= by_metric


def test_every_dashboard_panel_has_a_place_a_unique_id_and_the_chosen_data_source() -> None:
    board = dashboard()
    panels = board["panels"]
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids))
    variables = {variable["name"] for variable in board["templating"]["list"]}
    assert variables == {"datasource", "job"}
    for panel in panels:
        position = panel["gridPos"]
        assert position["x"] + position["w"] <= 24, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        for target in panel["targets"]:
            assert 'job="$job"' in target["expr"], f"{panel['title']}: not filtered by $job"
