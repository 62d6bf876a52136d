#!/usr/bin/env bash
# Write requirements.lock: the runtime dependencies and the postgres extra of pyproject.toml,
# every version pinned with its hashes, for CPython 3.11 on Linux (the image's Python).
#   bash .ci/lock.sh              # after changing dependencies in pyproject.toml
#   bash .ci/lock.sh OUTPUT       # write elsewhere (CI compares that with requirements.lock)
# Pins already in the output file are kept while they still satisfy pyproject.toml; to move to
# newer releases, delete requirements.lock first.  Uses PyPI only (the machine's pip settings,
# such as local wheel folders, are ignored so the hashes are PyPI's).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-requirements.lock}"
PY="${PYTHON:-python3}"
"$PY" -c 'import sys; assert sys.version_info[:2] == (3, 11), "run with Python 3.11 (PYTHON=...)"'
tools=$(mktemp -d /tmp/scanbot-lock.XXXXXX)
trap 'rm -rf "$tools"' EXIT
export PIP_CONFIG_FILE=/dev/null
unset PIP_FIND_LINKS PIP_EXTRA_INDEX_URL PIP_INDEX_URL PIP_CONSTRAINT
"$PY" -m venv "$tools/venv"
"$tools/venv/bin/pip" install -q 'pip-tools==7.7.0'
CUSTOM_COMPILE_COMMAND="bash .ci/lock.sh" "$tools/venv/bin/pip-compile" --quiet \
    --extra postgres --strip-extras --generate-hashes --allow-unsafe \
    --no-emit-index-url --no-emit-find-links --output-file "$out" pyproject.toml
