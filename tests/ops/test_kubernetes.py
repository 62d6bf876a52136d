"""The Kubernetes manifests (deploy/kustomize/) keep the properties a platform team relies on.

The base holds every property; the overlay may change only the image, the namespace, non-secret
settings and the replica count.  Where ``kubectl`` is on the PATH the overlay is also rendered
(``kubectl kustomize``, local files only) and the rendered objects are checked the same way.
CI renders it and validates it against Kubernetes' schemas (``.ci/deploy-checks.sh``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config.settings import Settings, setting_name

ROOT = Path(__file__).resolve().parents[2]
KUSTOMIZE = ROOT / "deploy" / "kustomize"
BASE = KUSTOMIZE / "base"
OVERLAY = KUSTOMIZE / "overlays" / "production"
OPERATOR = KUSTOMIZE / "prometheus-operator"
ALERTS = ROOT / "monitoring" / "alerts.yml"
SECRET_SETTINGS = (
    "PRISMA_PASSWORD",
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "SCANBOT_DATABASE_URL",
)
REQUIRED_SECRETS = {
    "PRISMA_PASSWORD",
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SCANBOT_DATABASE_URL",
}  # SLACK_APP_TOKEN only for Socket Mode
IMAGE_UID = 10001

Doc = dict[str, Any]


def documents(paths: list[Path]) -> list[Doc]:
    docs: list[Doc] = []
    for path in paths:
        docs.extend(doc for doc in yaml.safe_load_all(path.read_text()) if doc)
    return docs


def base_resources() -> list[Doc]:
    kustomization = yaml.safe_load((BASE / "kustomization.yaml").read_text())
    return documents([BASE / name for name in kustomization["resources"]])


def one(docs: list[Doc], kind: str) -> Doc:
    found = [doc for doc in docs if doc["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def container(deployment: Doc) -> Doc:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    result: Doc = containers[0]
    return result


def env_of(deployment: Doc) -> dict[str, str]:
    env = container(deployment).get("env", [])
    assert all("valueFrom" not in item for item in env), "secrets come from files, not env"
    return {item["name"]: item["value"] for item in env}


def check_deployment(deployment: Doc) -> None:
    """Every property the base promises, on one Deployment (base or rendered)."""
    spec = deployment["spec"]
    pod = spec["template"]["spec"]
    main = container(deployment)
    assert spec["replicas"] >= 2
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert spec["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items()

    ports = {port["name"]: port["containerPort"] for port in main["ports"]}
    assert ports == {"http": 3000}
    assert env_of(deployment)["PORT"] == "3000"
    assert main["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert main["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert main["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert main["resources"]["requests"].keys() == {"cpu", "memory"}
    assert main["resources"]["limits"]["memory"]

    pod_security = pod["securityContext"]
    assert pod_security["runAsNonRoot"] is True
    assert pod_security["runAsUser"] == IMAGE_UID
    assert pod_security["seccompProfile"] == {"type": "RuntimeDefault"}
    security = main["securityContext"]
    assert security["runAsNonRoot"] is True
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    # No SCANBOT_SERVICE_HOST / SCANBOT_PORT=tcp://... injected beside scanbot's own settings.
    assert pod["enableServiceLinks"] is False

    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    mounts = {mount["mountPath"]: mount for mount in main["volumeMounts"]}
    assert "emptyDir" in volumes[mounts["/tmp"]["name"]], "/tmp must be a writable emptyDir"
    check_secret_files(deployment, volumes, mounts)


def check_secret_files(deployment: Doc, volumes: dict[str, Doc], mounts: dict[str, Doc]) -> None:
    """Each secret setting is a ``<NAME>_FILE`` path inside a read-only mounted Secret."""
    env = env_of(deployment)
    secret_mounts = {
        path: volumes[mount["name"]]["secret"]
        for path, mount in mounts.items()
        if "secret" in volumes[mount["name"]]
    }
    assert secret_mounts, "no Secret mounted as files"
    assert all(mounts[path].get("readOnly") for path in secret_mounts)
    for path, secret in secret_mounts.items():
        assert secret["defaultMode"] & 0o077 == 0o040, f"{path}: readable by owner and group only"
    for name in SECRET_SETTINGS:
        assert name not in env, f"{name} must come from {name}_FILE, not the environment"
        if name in REQUIRED_SECRETS:
            file = env[f"{name}_FILE"]
            assert any(file.startswith(path + "/") for path in secret_mounts), file


def test_the_base_deployment_has_every_promised_property() -> None:
    """Replicas ≥ 2, /healthz liveness, /readyz readiness, non-root read-only pod, secret files."""
    check_deployment(one(base_resources(), "Deployment"))


def test_the_image_user_is_the_uid_the_pod_runs_as() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f"USER {IMAGE_UID}:{IMAGE_UID}" in dockerfile
    assert f"--uid {IMAGE_UID}" in dockerfile


def test_secret_file_variables_name_real_settings() -> None:
    """``X_FILE`` in the Deployment stands for the setting ``X`` (a typo would be ignored)."""
    settings = {setting_name(field) for field in Settings.model_fields}
    env = env_of(one(base_resources(), "Deployment"))
    file_settings = [name.removesuffix("_FILE") for name in env if name.endswith("_FILE")]
    assert file_settings
    for name in file_settings:
        assert name in settings
        assert name in SECRET_SETTINGS


def test_config_map_keys_are_real_non_secret_settings() -> None:
    settings = {setting_name(field) for field in Settings.model_fields}
    for directory in (BASE, OVERLAY):
        kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
        for generator in kustomization.get("configMapGenerator", []):
            for literal in generator["literals"]:
                key = literal.split("=", 1)[0]
                assert key in settings, f"{directory.name}: {key} is not a setting"
                assert key not in SECRET_SETTINGS, f"{key} belongs in the Secret"


def test_the_service_exposes_http_and_a_named_metrics_port_to_the_pods() -> None:
    docs = base_resources()
    service = one(docs, "Service")
    deployment = one(docs, "Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    ports = {port["name"]: port["targetPort"] for port in service["spec"]["ports"]}
    assert ports == {"http": "http", "metrics": "http"}


def test_the_disruption_budget_keeps_a_replica_and_selects_the_pods() -> None:
    docs = base_resources()
    budget = one(docs, "PodDisruptionBudget")
    deployment = one(docs, "Deployment")
    assert budget["apiVersion"] == "policy/v1"
    assert budget["spec"]["minAvailable"] >= 1
    assert budget["spec"]["minAvailable"] < deployment["spec"]["replicas"]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert budget["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()


def test_the_service_monitor_scrapes_the_metrics_port_of_the_service() -> None:
    monitor = one(documents([OPERATOR / "servicemonitor.yaml"]), "ServiceMonitor")
    service = one(base_resources(), "Service")
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    assert monitor["spec"]["endpoints"] == [
        {"port": "metrics", "path": "/metrics", "interval": "30s", "scrapeTimeout": "10s"}
    ]


def prometheus_rule_text() -> str:
    """deploy/kustomize/prometheus-operator/prometheusrule.yaml, made from monitoring/alerts.yml."""
    rule = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": "scanbot",
            "labels": {"app.kubernetes.io/name": "scanbot", "app.kubernetes.io/component": "bot"},
        },
        "spec": {"groups": yaml.safe_load(ALERTS.read_text())["groups"]},
    }
    header = (
        "# scanbot's alert rules for the Prometheus Operator: monitoring/alerts.yml, wrapped.\n"
        "# Made from that file; after changing it: "
        "SCANBOT_UPDATE_GOLDEN=1 pytest tests/ops/test_kubernetes.py\n"
    )
    return header + yaml.dump(
        rule, Dumper=_BlockDumper, sort_keys=False, width=100, allow_unicode=True
    )


class _BlockDumper(yaml.SafeDumper):
    """Multi-line strings (PromQL) as ``|`` blocks, as a person would write them."""


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _string)


def test_the_prometheus_rule_holds_exactly_the_alert_rules() -> None:
    path = OPERATOR / "prometheusrule.yaml"
    if os.environ.get("SCANBOT_UPDATE_GOLDEN") == "1":
        path.write_text(prometheus_rule_text())
    assert path.read_text() == prometheus_rule_text(), (
        "prometheusrule.yaml differs from monitoring/alerts.yml: "
        "SCANBOT_UPDATE_GOLDEN=1 pytest tests/ops/test_kubernetes.py"
    )
    kustomization = yaml.safe_load((OPERATOR / "kustomization.yaml").read_text())
    assert kustomization["resources"] == ["servicemonitor.yaml", "prometheusrule.yaml"]


def test_the_overlay_patches_only_the_replica_count_and_keeps_it_at_two_or_more() -> None:
    kustomization = yaml.safe_load((OVERLAY / "kustomization.yaml").read_text())
    assert kustomization["bases"] == ["../../base"]
    for name in kustomization["patchesStrategicMerge"]:
        patch = yaml.safe_load((OVERLAY / name).read_text())
        assert patch["kind"] == "Deployment"
        assert patch["spec"].keys() == {"replicas"}
        assert patch["spec"]["replicas"] >= 2


def deploy_files() -> Iterator[Path]:
    for path in sorted((ROOT / "deploy").rglob("*")):
        if path.is_file():
            yield path


def test_no_secret_values_are_in_the_deploy_files() -> None:
    """No Secret object, no secret generator, no token-shaped or password-shaped value."""
    token = re.compile(r"xox[abp]-|xapp-|postgres(ql)?(\+\w+)?://[^/\s]*:[^@/\s]+@", re.IGNORECASE)
    paths = list(deploy_files())
    assert paths
    for path in paths:
        text = path.read_text()
        assert not token.search(text), f"{path} holds a secret-looking value"
        for doc in yaml.safe_load_all(text):
            if isinstance(doc, dict):
                assert doc.get("kind") != "Secret", f"{path} ships a Secret"
                assert "secretGenerator" not in doc, f"{path} generates a Secret"


def rendered_overlay() -> list[Doc]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not on the PATH (CI renders the overlay in .ci/deploy-checks.sh)")
    result = subprocess.run(
        [kubectl, "kustomize", str(OVERLAY)], capture_output=True, text=True, check=True, timeout=60
    )
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def test_the_rendered_overlay_keeps_every_property_and_wires_the_config_map() -> None:
    docs = rendered_overlay()
    assert sorted(doc["kind"] for doc in docs) == sorted(
        ["ServiceAccount", "ConfigMap", "Service", "Deployment", "PodDisruptionBudget"]
    )
    assert {doc["metadata"]["namespace"] for doc in docs} == {"scanbot"}
    deployment = one(docs, "Deployment")
    check_deployment(deployment)
    config_map = one(docs, "ConfigMap")
    assert config_map["data"]["SCANBOT_LOG_FORMAT"] == "json"
    assert config_map["data"]["PRISMA_CONSOLE_URL"].startswith("https://")
    referenced = container(deployment)["envFrom"][0]["configMapRef"]["name"]
    assert referenced == config_map["metadata"]["name"]
    assert container(deployment)["image"].endswith(":0.1.0")
