#!/usr/bin/env bash
# Fuzz the REST API with schemathesis, from its own OpenAPI document (/api/v1/openapi.json).
#
# Starts the project's server (`manage.py runserver --noreload`, DEBUG off) on a free port of
# 127.0.0.1 with a throw-away SQLite database and media folder, loads the demo region, creates
# three API keys (a buyer of Lorient Agglomération, a company's representative, an actes agent
# of Lanester) and runs `st run` once per key. Fails on any server error, undocumented status,
# wrong content type or body that breaks the declared schema.
#
# Bounded: SCHEMATHESIS_SECONDS per key (default 70; schemathesis fuzzes until the budget is
# spent) and SCHEMATHESIS_MAX_EXAMPLES per operation and phase (default 25).
# Nothing leaves the machine: mail goes to memory, background tasks are queued and never run
# (no worker), the @CTES transport points at a closed local port, timestamps come from the
# local test TSA. Destructive operations (DELETE, publication…) only touch the throw-away DB.
#
# Usage: bash scripts/schemathesis.sh   (after `make install`; .ci/run calls it)
set -euo pipefail
cd "$(dirname "$0")/.."

PY=.venv/bin/python
ST=.venv/bin/st
SECONDS_PER_KEY=${SCHEMATHESIS_SECONDS:-70}
MAX_EXAMPLES=${SCHEMATHESIS_MAX_EXAMPLES:-25}
CHECKS=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance

work=$(mktemp -d "${TMPDIR:-/tmp}/emegalis-schemathesis-XXXXXX")
server=""
cleanup() {
  if [ -n "$server" ]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap "exit 130" INT TERM  # run the cleanup when stopped (CI timeout)

export DJANGO_SETTINGS_MODULE=emegalis.settings
export DEBUG=0
export SECRET_KEY=schemathesis-only-throw-away-key
export ALLOWED_HOSTS=127.0.0.1
export EMEGALIS_VAR_DIR="$work/var"
export MEDIA_ROOT="$work/media"
export STATIC_ROOT="$work/static"
export DATABASE_URL="sqlite:///$work/db.sqlite3"
export EMAIL_BACKEND=django.core.mail.backends.locmem.EmailBackend
export TASKS_BACKEND=django_tasks_db.DatabaseBackend
export ACTES_TRANSPORT_URL=http://127.0.0.1:9/depot/
export PREFECTURE_COUNTERPART_ENABLED=0
export SIGNING_TSA_URL=
export AXES_FAILURE_LIMIT=1000
export SECURE_SSL_REDIRECT=0  # plain HTTP on the loopback, as the other local runs
export LOG_LEVEL=WARNING
export SCHEMATHESIS_WORK="$work"
export HYPOTHESIS_STORAGE_DIRECTORY="$work/hypothesis"  # nothing written into the checkout
unset HTTP_PROXY HTTPS_PROXY http_proxy https_proxy

started=$(date +%s)
echo "== schemathesis: throw-away database in $work"
$PY manage.py migrate --no-input -v 0
$PY manage.py load_demo >/dev/null
$PY manage.py collectstatic --no-input -v 0

# One key per profile, printed as "label secret" lines (secrets of a throw-away database), and
# a configuration that draws path ids half of the time from the demo's real objects, so that
# the fuzzing reaches the views' logic and not only their 404.
keys=$($PY manage.py shell -v 0 -c '
import json, os
from emegalis.actes.models import Transaction
from emegalis.demo.region import demo_email
from emegalis.marches.models import Consultation, Pli, PliFile
from emegalis.organisations.models import Organisation, User
from emegalis.organisations.services import create_api_key

def ids(model):
    return list(model.objects.order_by("pk").values_list("pk", flat=True)[:40]) or [1]

dictionaries = {
    "consultations": ids(Consultation), "plis": ids(Pli), "files": ids(PliFile),
    "organisations": ids(Organisation), "actes": ids(Transaction),
}
bindings = {"pk": "consultations", "pli_pk": "plis", "file_pk": "files", "acte_id": "actes"}
lines = ["[cache]", "enabled = false", "", "[dictionaries]"]
lines += [f"{name} = {{ values = {json.dumps(values)} }}" for name, values in dictionaries.items()]
lines += ["", "[parameters]"]
lines += [f"\"path.{p}\" = {{ dictionary = \"{d}\", probability = 0.5 }}" for p, d in bindings.items()]
lines += ["", "[[operations]]", "include-path-regex = \"^/api/v1/organisations/\"",
          "parameters = { \"path.pk\" = { dictionary = \"organisations\", probability = 0.5 } }"]
with open(os.path.join(os.environ["SCHEMATHESIS_WORK"], "schemathesis.toml"), "w") as f:
    f.write("\n".join(lines) + "\n")
for label, local in (("acheteur", "acheteur.agglo"), ("entreprise", "entreprise.armor"),
                     ("actes", "actes.lanester")):
    user = User.objects.get(email=demo_email(local))
    organisation = user.memberships.order_by("pk").first().organisation
    _, secret = create_api_key(user=user, organisation=organisation, name="schemathesis")
    print(label, secret)
')
cat "$work/schemathesis.toml"

port=$($PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
$PY manage.py runserver --noreload "127.0.0.1:$port" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
  if $PY -c "import socket; socket.create_connection(('127.0.0.1', $port), timeout=0.5)" 2>/dev/null; then
    break
  fi
  kill -0 "$server" 2>/dev/null || { cat "$work/server.log"; echo "le serveur s'est arrêté"; exit 1; }
  sleep 0.2
done

status=0
passed=0
failed=0
while read -r label secret; do
  echo "== schemathesis with the $label key (${SECONDS_PER_KEY}s, ${MAX_EXAMPLES} examples per operation and phase)"
  if ! $ST --no-color --config-file "$work/schemathesis.toml" run "http://127.0.0.1:$port/api/v1/openapi.json" \
      --header "Authorization: Bearer $secret" \
      --checks "$CHECKS" \
      --phases examples,coverage,fuzzing \
      --max-examples "$MAX_EXAMPLES" \
      --max-time "$SECONDS_PER_KEY" \
      --request-timeout 30 \
      --workers 2 \
      --generation-database none \
      --suppress-health-check all \
      --report junit --report-junit-path "$work/junit-$label.xml" \
      </dev/null | tee "$work/st-$label.log"; then
    status=1
  fi
  # Operations passed and failing, from the JUnit report.
  read -r ok bad < <($PY - "$work/junit-$label.xml" <<'EOF'
import sys
import xml.etree.ElementTree as ET

root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
tests = sum(int(s.get("tests", 0)) for s in suites)
bad = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
print(tests - bad, bad)
EOF
)
  passed=$((passed + ok))
  failed=$((failed + bad))
  cases=$(grep -Eo '[0-9]+ generated' "$work/st-$label.log" | tail -1 || true)
  echo "== $label: ${cases:-? generated} test cases; operations: $ok passed, $bad failing"
done <<<"$keys"

if grep -q "Traceback" "$work/server.log"; then
  echo "== server log (tracebacks):"
  cat "$work/server.log"
  status=1
fi
echo "== schemathesis finished in $(($(date +%s) - started))s; operations × keys:"
echo "schemathesis: $passed passed, $failed failed"
exit $status
