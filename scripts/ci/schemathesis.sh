#!/usr/bin/env bash
# Installs schemathesis (PyPI) into a venv of its own under ~/.cache/annals and prints the path of its
# CLI. Idempotent: a venv that already holds this exact version is reused, so CI pays the install once
# per machine. The version is pinned here, so a new schemathesis release never changes what CI checks.
set -euo pipefail

SCHEMATHESIS_VERSION=4.32.5
venv="${ANNALS_CACHE_DIR:-$HOME/.cache/annals}/schemathesis-${SCHEMATHESIS_VERSION}"
st="$venv/bin/st"

if [[ -x "$st" ]] && [[ "$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("schemathesis"))' 2>/dev/null)" == "$SCHEMATHESIS_VERSION" ]]; then
  echo "$st"
  exit 0
fi

python=${PYTHON:-python3}
command -v "$python" >/dev/null || { echo "schemathesis.sh: $python not found (schemathesis needs Python >= 3.9)" >&2; exit 1; }
rm -rf "$venv"
"$python" -m venv "$venv" >&2
"$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==${SCHEMATHESIS_VERSION}" >&2
"$st" --version >&2
echo "$st"
