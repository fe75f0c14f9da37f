#!/usr/bin/env bash
# Prove an offline workshop bundle (make bundle) works with no network: copy it to a fresh folder, then, in a
# network namespace that has only loopback, run `make setup`, `make book` and `make lab` (JupyterLab must
# answer on 127.0.0.1). Writes benchmarks/results/offline_bundle.md with the sizes and times.
# Usage, as root (unshare needs it): scripts/verify-bundle.sh [BUNDLE] [WORK_DIR]
#   BOOK=quick runs `make book-quick` instead of the full book.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
bundle=$(cd "${1:-build/bundle/compression-kit-workshop}" && pwd)
work=${2:-$(mktemp -d /tmp/verify-bundle.XXXXXX)}
book_target=$([ "${BOOK:-full}" = quick ] && echo book-quick || echo book)
report=$repo/benchmarks/results/offline_bundle.md
[ "$(id -u)" = 0 ] || { echo "verify-bundle: run as root (a network namespace needs it)" >&2; exit 1; }
[ -f "$bundle/README.md" ] && [ -d "$bundle/course/wheelhouse" ] ||
  { echo "verify-bundle: $bundle is not a bundle from make bundle" >&2; exit 1; }

mkdir -p "$work"
start=$(date +%s)
cp -r "$bundle" "$work/"
copy_s=$(( $(date +%s) - start ))
course="$work/$(basename "$bundle")/course"
echo "== copied to $course in ${copy_s} s; entering a network namespace with only loopback"

# Everything below runs with no route out: `ip route` is empty and a connection to the index must fail.
unshare --net env COURSE="$course" BOOK_TARGET="$book_target" bash -euo pipefail -c '
  ip link set lo up
  echo "== interfaces: $(ip -o link | cut -d: -f2 | tr -d " " | tr "\n" " ")  routes: $(ip route | wc -l)"
  if python3 -c "import socket; socket.create_connection((\"151.101.0.223\", 443), timeout=5)" 2>/dev/null; then
    echo "verify-bundle: the namespace reaches the network" >&2; exit 1
  fi
  cd "$COURSE"
  t0=$(date +%s); make setup; t1=$(date +%s)
  make "$BOOK_TARGET"; t2=$(date +%s)
  setsid make lab LAB_ARGS="--no-browser --port=8899 --IdentityProvider.token=verify" >lab.log 2>&1 &
  lab=$!  # setsid: its own process group, so JupyterLab ends with make
  ok=0
  for _ in $(seq 60); do
    if .venv/bin/python -c "import urllib.request as u; u.urlopen(\"http://127.0.0.1:8899/lab/tree/01_parametrizations.ipynb?token=verify\", timeout=5)" 2>/dev/null; then ok=1; break; fi
    sleep 2
  done
  kill -- -"$lab" 2>/dev/null || true
  [ "$ok" = 1 ] || { echo "verify-bundle: JupyterLab did not answer on 127.0.0.1:8899 (see $COURSE/lab.log)" >&2; exit 1; }
  echo "setup_s=$((t1 - t0)) book_s=$((t2 - t1))" >"$COURSE/verify-times"
'
source <(tr ' ' '\n' <"$course/verify-times" | sed 's/^/export /')
venv_mib=$(du -sm "$course/.venv" | cut -f1)
sizes=$(sed -n '/^| part/,/^$/p' "$bundle/README.md")
mkdir -p "$(dirname "$report")"
cat >"$report" <<EOF
# Offline workshop bundle, verified with no network

Bundle \`$bundle\`, copied to \`$work\` (${copy_s} s), then inside a network namespace with only loopback
(\`unshare --net\`): \`make setup\` from the wheelhouse in ${setup_s} s, \`make $book_target\` in ${book_s} s,
and \`make lab\` answered on 127.0.0.1. The installed environment takes ${venv_mib} MiB.
Measured on $(date +%Y-%m-%d), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//').

$sizes

Reproduce: \`make bundle && sudo scripts/verify-bundle.sh\`.
EOF
cat "$report"
