"""deploy/monitoring against Prometheus and the code: the alert rules as Prometheus's own
``rulefmt`` reads them (``promtool check rules``), the dashboard's shape and the PromQL
of its panels through Prometheus's parser (both by deploy/monitoring/rulecheck, built by
the project's own files), every metric named in either defined in the code, and scrape
targets that are the services compose and the manifests run (docs/design.md §23)."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from devtools.provision import provision_rulecheck
from devtools.rulecheck import Parsed, check_rules, parse_exprs
from tests.deploy.code_facts import API_PORT, REPO, WORKER_HEALTH_PORT, load_yaml, load_yaml_all

MONITORING = REPO / "deploy" / "monitoring"
RULES = MONITORING / "alerts.yml"
DASHBOARD = MONITORING / "grafana" / "amazon-jobs.json"
# Series Prometheus makes itself, not the code.
PROMETHEUS_SERIES = frozenset({"up", "scrape_duration_seconds", "scrape_samples_scraped"})
# What Grafana puts in an expression before sending it, with a value it may take.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "30s", "$__range": "1h"}
METRIC_DEFINITION = re.compile(r'\b(Counter|Gauge|Histogram|Summary)\(\s*"([a-zA-Z_:][\w:]*)"')
INFRASTRUCTURE = frozenset({"kafka", "mongo", "amazon_sandbox"})


@pytest.fixture(scope="module", autouse=True)
def rulecheck() -> Path:
    """Built once (about a minute with an empty Go module cache), then cached in .local."""
    return provision_rulecheck()


@cache
def defined_series() -> frozenset[str]:
    """Every series name the services expose, from the prometheus_client metrics in the
    code: a counter adds ``_total``, a histogram ``_bucket``, ``_sum`` and ``_count``."""
    names: set[str] = set()
    for path in [*REPO.glob("services/**/*.py"), *REPO.glob("shared/**/*.py")]:
        text = path.read_text()
        if "prometheus_client" not in text:
            continue
        for kind, name in METRIC_DEFINITION.findall(text):
            if kind == "Counter":
                names.add(name if name.endswith("_total") else f"{name}_total")
            elif kind in ("Histogram", "Summary"):
                names.update({f"{name}_sum", f"{name}_count"})
                names.add(f"{name}_bucket" if kind == "Histogram" else name)
            else:
                names.add(name)
    return frozenset(names)


def rules() -> list[dict[str, Any]]:
    return [rule for group in load_yaml(RULES)["groups"] for rule in group["rules"]]


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def panels() -> list[dict[str, Any]]:
    return [p for p in dashboard()["panels"] if p["type"] != "row"]


def grafana_expanded(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr


def parsed_rules() -> list[Parsed]:
    return parse_exprs([r["expr"] for r in rules()])


def parsed_panels() -> list[Parsed]:
    return parse_exprs(
        [grafana_expanded(t["expr"]) for p in panels() for t in p["targets"]],
    )


# ------------------------------------------------------------------------------ the rules


def test_the_rules_file_is_valid_for_prometheus() -> None:
    assert check_rules([RULES]) == []


def test_the_checker_refuses_a_broken_rule(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: sum(rate(x[5m])\n"
        "  - alert: B\n    expr: up == 0\n    annotations:\n      summary: '{{ $labels.job '\n"
    )
    problems = check_rules([broken])
    assert any('"A": could not parse expression' in p for p in problems), problems
    assert any('"B": annotation "summary"' in p for p in problems), problems


def test_every_alert_is_named_labelled_and_explained() -> None:
    names = [r["alert"] for r in rules()]
    assert len(names) == len(set(names)), "two alerts of one name"
    for rule in rules():
        assert rule["labels"]["severity"] in {"info", "warning", "critical"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]


def test_the_alerts_watch_what_the_issue_asks_for() -> None:
    watched = {name for p in parsed_rules() for name in p.metrics}
    wanted = {
        "dead_letters_total": "dead letters",
        "dead_letters_failed_total": "dead letters not even written",
        "submitter_jobs_failed_total": "failed jobs",
        "applier_jobs_total": "failed jobs",
        "throttle_wait_seconds_bucket": "throttle wait",
        "spapi_calls_total": "Amazon's 429s",
        "consumer_lag_records": "consumer lag",
        "projector_mongo_errors_total": "MongoDB errors",
        "up": "a service down",
    }
    assert {m: w for m, w in wanted.items() if m not in watched} == {}


# ------------------------------------------------------------------------------ the dashboard


def test_the_dashboard_has_grafanas_shape() -> None:
    d = dashboard()
    assert d["uid"] == "amazon-jobs" and d["title"]
    assert isinstance(d["schemaVersion"], int)
    ids = [p["id"] for p in d["panels"]]
    assert len(ids) == len(set(ids)), "two panels of one id"
    assert [v["name"] for v in d["templating"]["list"]] == ["datasource"]
    cells: set[tuple[int, int]] = set()
    for p in d["panels"]:
        grid = p["gridPos"]
        assert grid["x"] >= 0 and grid["w"] > 0 and grid["x"] + grid["w"] <= 24, p["title"]
        taken = {(x, y) for x in range(grid["x"], grid["x"] + grid["w"]) for y in
                 range(grid["y"], grid["y"] + grid["h"])}  # fmt: skip
        assert not taken & cells, f"{p['title']} overlaps another panel"
        cells |= taken
    for p in panels():
        assert p["type"] in {"timeseries", "stat", "gauge", "table"}, p["title"]
        assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, p["title"]
        refs = [t["refId"] for t in p["targets"]]
        assert refs and len(refs) == len(set(refs)), p["title"]
        assert all(t["expr"].strip() for t in p["targets"]), p["title"]


def test_every_panel_query_parses() -> None:
    assert {p.expr: p.error for p in parsed_panels() if p.error} == {}


def test_the_parser_check_can_fail() -> None:
    [bad] = parse_exprs(["sum by (le (rate(x[5m]))"])
    assert bad.error is not None and "parse error" in bad.error


# ------------------------------------------------------------------------------ the names


def test_every_metric_in_the_rules_and_the_dashboard_is_defined_in_the_code() -> None:
    used = {name for p in [*parsed_rules(), *parsed_panels()] for name in p.metrics}
    assert used, "no metric found: the extraction is broken"
    known = defined_series() | PROMETHEUS_SERIES
    assert sorted(used - known) == []


def test_the_code_definitions_are_found() -> None:
    # The extraction the check above relies on: one metric of each kind.
    assert {
        "dead_letters_total",
        "consumer_lag_records",
        "throttle_wait_seconds_bucket",
        "api_http_requests_total",
        "api_http_request_duration_seconds_count",
    } <= defined_series()
    assert "throttle_wait_seconds" not in defined_series()  # a histogram has no bare series


# ------------------------------------------------------------------------------ the targets


def test_compose_scrape_targets_are_the_services_compose_runs() -> None:
    compose = load_yaml(REPO / "docker-compose.yml")["services"]
    config = load_yaml(MONITORING / "prometheus.yml")
    assert config["rule_files"] == [RULES.name]
    scraped: dict[str, int] = {}
    for job in config["scrape_configs"]:
        assert job["job_name"].startswith("amazon-jobs"), job["job_name"]
        for sd in job["dns_sd_configs"]:
            scraped.update(dict.fromkeys(sd["names"], sd["port"]))
    ours = set(compose) - INFRASTRUCTURE
    assert set(scraped) == ours
    for name in ours:
        env = compose[name].get("environment", {})
        port = int(env.get("API_PORT", env.get("HEALTH_PORT", WORKER_HEALTH_PORT)))
        assert scraped[name] == port == (API_PORT if name == "api" else WORKER_HEALTH_PORT)


def test_pod_monitors_select_every_deployment_by_a_port_it_has() -> None:
    deployments = {}
    for path in (REPO / "deploy" / "k8s" / "base").glob("*.yaml"):
        for obj in load_yaml_all(path.read_text()):
            if obj and obj.get("kind") == "Deployment":
                labels = obj["spec"]["template"]["metadata"]["labels"]
                ports = {
                    p["name"]
                    for c in obj["spec"]["template"]["spec"]["containers"]
                    for p in c.get("ports", [])
                }
                deployments[labels["app.kubernetes.io/component"]] = (labels, ports)
    monitors = load_yaml_all((MONITORING / "podmonitors.yaml").read_text())
    covered: dict[str, str] = {}
    for monitor in monitors:
        assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
        assert monitor["kind"] == "PodMonitor"
        spec = monitor["spec"]
        assert spec["jobLabel"] == "app.kubernetes.io/name"  # job "amazon-jobs": ServiceDown
        [endpoint] = spec["podMetricsEndpoints"]
        for component, (labels, ports) in deployments.items():
            if _selects(spec["selector"], labels):
                assert component not in covered, f"{component} scraped twice"
                assert endpoint["port"] in ports, f"{component} has no port {endpoint['port']}"
                assert endpoint["path"] == "/metrics"
                covered[component] = monitor["metadata"]["name"]
    assert set(covered) == set(deployments)


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        assert expression["operator"] == "In", "only In is read here"
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


def test_the_monitoring_compose_file_mounts_files_that_exist() -> None:
    compose = load_yaml(MONITORING / "docker-compose.monitoring.yml")["services"]
    assert set(compose) == {"prometheus", "grafana"}
    for name, service in compose.items():
        for volume in service["volumes"]:
            source = volume.split(":")[0]
            # Relative to the first compose file's folder: the repository's root.
            assert (REPO / source).exists(), f"{name}: {source} does not exist"
    provisioned = load_yaml(
        MONITORING / "grafana" / "provisioning" / "dashboards" / "amazon-jobs.yml"
    )["providers"][0]["options"]["path"]
    mounts = [v.split(":")[1] for v in compose["grafana"]["volumes"]]
    assert f"{provisioned}/{DASHBOARD.name}" in mounts
