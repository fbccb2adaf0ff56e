#!/usr/bin/env bash
# Rebuild the pinned installs from scratch: constraints/tests.txt (the project's test environment,
# Python 3.11) and constraints/localstack.txt (LocalStack's environment, Python 3.13). Run it when a
# dependency should move, review the diff, run `bash .ci/run`, commit. The npm pins
# (constraints/npm.txt) are edited by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
py313="${LOCALSTACK_PYTHON:-$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")/versions/3.13.0/bin/python}"

# LocalStack 2026.3.0 with the four upper bounds it needs on this machine
"$py313" -m venv "$tmp/ls"
"$tmp/ls/bin/pip" install -q "localstack-core[runtime]==2026.3.0" 'cbor2<5.7' 'pyopenssl<24.3' 'cryptography<44' service_identity
{ echo "# LocalStack's environment (ci/localstack.sh install); regenerate with ci/refresh-constraints.sh"
  "$tmp/ls/bin/pip" freeze --exclude-editable | grep -v '^-e ' | sort -f; } > constraints/localstack.txt

# the project's test environment: the package with its dev extras, and tox itself
python3 -m venv "$tmp/py"
"$tmp/py/bin/pip" install -q -e ".[dev]" tox
{ echo "# the project's test environment (tox, .ci/run); regenerate with ci/refresh-constraints.sh"
  "$tmp/py/bin/pip" freeze --exclude-editable | grep -v -i '^drill-harness' | sort -f; } > constraints/tests.txt
echo "constraints: $(wc -l < constraints/tests.txt) test pins, $(wc -l < constraints/localstack.txt) LocalStack pins"
