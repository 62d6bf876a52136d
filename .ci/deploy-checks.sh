#!/usr/bin/env bash
# Run by .ci/run: render the Kubernetes overlay and validate it against Kubernetes' schemas;
# validate docker-compose.yml against the Compose Specification; check and unit-test the
# Prometheus alert rules with promtool (from Debian's prometheus package, unpacked, not installed);
# check that requirements.lock matches pyproject.toml and installs with --require-hashes.
# Installs what it needs: kubernetes-validate from PyPI into .venv, and Debian's kubectl 1.20
# (its kustomize v2.0.3, the oldest the manifests promise to build with) unpacked into a
# temporary folder, not installed.  The kubectl on the PATH, if any, renders it too.
# Fails loudly on the first problem.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d /tmp/scanbot-ci-deploy.XXXXXX)
trap 'rm -rf "$work"' EXIT

# Fetch a Debian package's files into $work/root without installing it (no conflicts, no services).
unpack_deb() {
    (cd "$work" && { apt-get download "$1" >/dev/null 2>&1 \
        || { apt-get update -qq && apt-get download "$1" >/dev/null; }; })
    dpkg-deb -x "$work"/"$1"_*.deb "$work/root"
}

echo "--- Kubernetes manifests: render (kustomize) and validate (kubernetes-validate --strict)"
.venv/bin/pip install -q 'kubernetes-validate==1.37.0'
unpack_deb kubernetes-client
renderers=("$work/root/usr/bin/kubectl")
if command -v kubectl >/dev/null 2>&1; then renderers+=("$(command -v kubectl)"); fi
for kubectl in "${renderers[@]}"; do
    echo "kustomize of $("$kubectl" version --client 2>/dev/null | head -1)"
    for dir in overlays/production base; do
        out="$work/$(basename "$dir").yaml"
        "$kubectl" kustomize "deploy/kustomize/$dir" >"$out" 2>"$work/stderr" \
            || { cat "$work/stderr"; echo "FAILED: kustomize deploy/kustomize/$dir"; exit 1; }
        for version in 1.27.0 1.37.0; do
            .venv/bin/kubernetes-validate --strict --quiet -k "$version" "$out" \
                || { echo "FAILED: deploy/kustomize/$dir against Kubernetes $version"; exit 1; }
        done
    done
    # Prometheus Operator objects: no schema here (CRDs); rendering proves the kustomization.
    "$kubectl" kustomize deploy/kustomize/prometheus-operator >"$work/operator.yaml"
    grep -q '^kind: PrometheusRule' "$work/operator.yaml"
done
echo "Kubernetes manifests valid"

echo "--- docker-compose.yml against the Compose Specification schema (check-jsonschema)"
.venv/bin/pip install -q 'check-jsonschema==0.39.0'
.venv/bin/check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml

echo "--- Prometheus alert rules: promtool check rules, promtool test rules (Debian's prometheus)"
unpack_deb prometheus
"$work/root/usr/bin/promtool" check rules monitoring/alerts.yml
(cd monitoring && "$work/root/usr/bin/promtool" test rules alerts.test.yml)

echo "--- requirements.lock: current with pyproject.toml (.ci/lock.sh), and installs as the image does"
cp requirements.lock "$work/requirements.lock"
bash .ci/lock.sh "$work/requirements.lock"
diff -u requirements.lock "$work/requirements.lock" \
    || { echo "FAILED: requirements.lock does not match pyproject.toml: run bash .ci/lock.sh"; exit 1; }
"${PYTHON:-python3}" -m venv "$work/image"
# From PyPI only, as in the image (not from this machine's local wheel folders).
env -u PIP_FIND_LINKS -u PIP_EXTRA_INDEX_URL -u PIP_INDEX_URL PIP_CONFIG_FILE=/dev/null \
    "$work/image/bin/pip" install -q --no-cache-dir --require-hashes -r requirements.lock
.venv/bin/pip wheel -q --no-deps --wheel-dir "$work/wheel" .
"$work/image/bin/pip" install -q --no-deps "$work"/wheel/scanbot-*.whl
"$work/image/bin/pip" check
"$work/image/bin/scanbot" --version
echo "deploy and build checks passed"
