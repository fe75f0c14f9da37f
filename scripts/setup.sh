#!/usr/bin/env bash
# Create the course's virtual environment and install everything it needs.
# Usage: scripts/setup.sh [VENV_DIR]   (PYTHON=python3.12 to choose the interpreter)
# Offline: where a wheelhouse/ folder sits beside the Makefile (an offline workshop bundle, `make bundle`),
# or WHEELHOUSE=/path names one, every package comes from it alone: no index, no network.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${1:-.venv}
python=${PYTHON:-python3}
wheelhouse=${WHEELHOUSE:-}
if [ -z "$wheelhouse" ] && [ -d wheelhouse ]; then wheelhouse=wheelhouse; fi

say() { printf '\n==> %s\n' "$*"; }

# 0. An offline wheelhouse is checked before anything is installed: right Python and platform, no
#    missing or damaged wheel.
if [ -n "$wheelhouse" ]; then
  wheelhouse=$(cd "$wheelhouse" && pwd)
  for f in BUILT-FOR SHA256SUMS; do
    [ -f "$wheelhouse/$f" ] || { echo "setup: $wheelhouse/$f is missing: this is not a wheelhouse from make bundle" \
      "(make the bundle again, or unset WHEELHOUSE to install from the package index)" >&2; exit 1; }
  done
  wanted=$(tr '\n' ' ' <"$wheelhouse/BUILT-FOR")
  found=$("$python" -c 'import platform, sys; print(f"python={sys.version_info[0]}.{sys.version_info[1]} system={platform.system()} machine={platform.machine()} ")')
  if [ "$wanted" != "$found" ]; then
    echo "setup: the wheelhouse's wheels are for $wanted; $python is $found." >&2
    echo "       Run with PYTHON=/path/to/that python (e.g. PYTHON=python3.11 make setup), or on that platform." >&2
    exit 1
  fi
  say "Checking the wheelhouse's $(wc -l <"$wheelhouse/SHA256SUMS") wheels against SHA256SUMS"
  if ! (cd "$wheelhouse" && sha256sum -c --quiet SHA256SUMS); then
    echo "setup: wheels above are missing or damaged: copy the bundle again (cd $wheelhouse && sha256sum -c SHA256SUMS lists them)" >&2
    exit 1
  fi
  # Only the wheelhouse: no index and none of this machine's pip configuration (extra indexes, find-links).
  export PIP_CONFIG_FILE=/dev/null PIP_NO_INDEX=1 PIP_FIND_LINKS="$wheelhouse"
  unset PIP_INDEX_URL PIP_EXTRA_INDEX_URL
fi

# 1. System packages (optional: only the browser checks need them).
mapfile -t apt_pkgs < <(grep -v '^\s*#' scripts/apt-packages.txt | grep -v '^\s*$')
if [ -n "$wheelhouse" ]; then
  missing=()
  for p in "${apt_pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    say "Offline install: not installing system packages (${missing[*]}); the browser checks will be skipped."
  fi
elif ! command -v apt-get >/dev/null 2>&1; then
  say "No apt-get here: skipping system packages (${apt_pkgs[*]})."
  echo "    Install them with your platform's package manager to run the browser checks."
else
  missing=()
  for p in "${apt_pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -eq 0 ]; then
    :
  elif [ "$(id -u)" != 0 ]; then
    say "Not root: skipping system packages. To install them: sudo apt-get install ${missing[*]}"
  else
    say "Installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }; then
      say "apt-get could not install ${missing[*]}: carrying on; the checks that need them will be skipped."
    fi
  fi
fi

# 2. Virtual environment.
"$python" - <<'PY'
import sys
if not ((3, 11) <= sys.version_info[:2] <= (3, 12)):
    sys.exit(f"Python 3.11 or 3.12 is needed, found {sys.version.split()[0]}: "
             "set PYTHON=/path/to/python3.11 and run again.")
PY
if [ ! -x "$venv/bin/python" ]; then
  say "Creating virtual environment $venv"
  "$python" -m venv "$venv"
fi
# pip, minus the noise some mirrors' configuration adds to every call.
pip() {
  "$venv/bin/python" -m pip --disable-pip-version-check "$@" \
    2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
}
pip install -q --upgrade pip setuptools wheel

# 3. torch first, on its own, so no later requirement can swap it for another build.
say "Installing torch (CPU build)${wheelhouse:+ from $wheelhouse}"
pip install -q "$(grep -o '"torch==[^"]*"' pyproject.toml | tr -d '"')"
torch_version=$("$venv/bin/python" -c 'from importlib.metadata import version; print(version("torch"))')
pins=$(mktemp)
trap 'rm -f "$pins"' EXIT
echo "torch==$torch_version" >"$pins"

# 4. The kit and every extra, with torch held where it is.
say "Installing the kit and its dependencies (torch held at $torch_version)"
pip install -q -c "$pins" -e ".[notebooks,docs,test]"
# Packages whose declared dependencies the kit does not need (see the file's comments).
pip install -q --no-deps -r scripts/requirements-no-deps.txt
# A quiet, offline JupyterLab: no "get notified about Jupyter news?" pop-up and no update checks
# (JupyterLab reads overrides.json from its application settings folder inside the environment).
lab_settings="$("$venv/bin/python" -c 'from jupyterlab.commands import get_app_dir; print(get_app_dir())')/settings"
mkdir -p "$lab_settings"
cp scripts/jupyterlab-overrides.json "$lab_settings/overrides.json"
"$venv/bin/python" -m kit doctor --brief
