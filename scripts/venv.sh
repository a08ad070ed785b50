# Sourced by the scripts that need Python tools (chart-lint.sh, dockerfile-lint.sh): one venv
# outside the clone, like the cargo target dir, with pinned packages installed on first use.
#   venv_module MODULE SPEC…  installs SPEC… unless MODULE imports;
#   venv_bin NAME SPEC…       installs SPEC… unless the venv has the program NAME.
VENV="${KEFU_HELM_VENV:-$HOME/.cache/kefu-helm-venv}"
PY="${PYTHON:-python3}"
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
venv_install() {
  echo "installing $* into $VENV" >&2
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "$@"
}
venv_module() {
  local module="$1"
  shift
  "$VENV/bin/python" -c "import $module" 2>/dev/null || venv_install "$@"
}
venv_bin() {
  local name="$1"
  shift
  [ -x "$VENV/bin/$name" ] || venv_install "$@"
}
