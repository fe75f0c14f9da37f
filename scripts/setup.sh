#!/usr/bin/env bash
# Create the course's virtual environment and install everything it needs.
# Usage: scripts/setup.sh [VENV_DIR]   (PYTHON=python3.12 to choose the interpreter)
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${1:-.venv}
python=${PYTHON:-python3}

say() { printf '\n==> %s\n' "$*"; }

# 1. System packages (optional: only the browser checks need them).
mapfile -t apt_pkgs < <(grep -v '^\s*#' scripts/apt-packages.txt | grep -v '^\s*$')
if ! command -v apt-get >/dev/null 2>&1; then
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
say "Installing torch (CPU build)"
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
