# Shared set-up for dev/test and dev/demo: several Pythons on PATH and a project venv with the dev tools.
# Sourced, not run. Creates .venv (Python 3.12) on first use and keeps it in step with pyproject.toml.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# A user's machine has several Pythons on PATH; with pyenv that means naming them in PYENV_VERSION.
if [ -z "${PYENV_VERSION:-}" ] && command -v pyenv >/dev/null 2>&1; then
  versions=()
  for minor in 3.12 3.11 3.13 3.10; do
    newest="$(pyenv versions --bare | grep -E "^${minor//./\\.}\.[0-9]+$" | sort -t. -k3 -n | tail -n 1 || true)"
    [ -n "$newest" ] && versions+=("$newest")
  done
  if [ "${#versions[@]}" -gt 0 ]; then
    PYENV_VERSION="$(IFS=:; echo "${versions[*]}")"
    export PYENV_VERSION
  fi
fi
command -v python3.12 >/dev/null 2>&1 || { echo "dev: python3.12 is needed on PATH (pyenv install 3.12)" >&2; exit 2; }

venv="$root/.venv"
stamp="$venv/.installed-from"
want="$(cat "$root/pyproject.toml" | sha256sum | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "dev: installing the project and its dev tools into $venv" >&2
  python3.12 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade "pip>=25.1"
  "$venv/bin/python" -m pip install --quiet -e "$root" --group "$root/pyproject.toml:dev" --group "$root/pyproject.toml:docs"
  echo "$want" > "$stamp"
fi
export PATH="$venv/bin:$PATH"
cd "$root"

# The oldest of everything the package allows: its oldest Python (requires-python) and the oldest version of each
# of its dependencies (uv's lowest-direct resolution: tox 4.65, installer 1.1, packaging 26.3, ...), in a venv of its
# own with the test tools: dev/test runs the tests of the version-dependent code there too. Sets $oldest to it.
oldest_venv() {
  local minor="3.10"
  oldest="$root/.venv-oldest"
  command -v "python$minor" >/dev/null 2>&1 || { echo "dev: python$minor is needed on PATH (pyenv install $minor)" >&2; exit 2; }
  if [ ! -x "$oldest/bin/python" ] || [ "$(cat "$oldest/.installed-from" 2>/dev/null)" != "$want" ]; then
    echo "dev: installing the project, its oldest dependencies and its test tools into $oldest (Python $minor)" >&2
    "python$minor" -m venv --clear "$oldest"
    # pip itself is a test tool (tox's deps run it): a recent one, as the project venv has
    "$venv/bin/uv" pip install --quiet --python "$oldest/bin/python" --resolution lowest-direct "pip>=25.1" \
      -e "$root" --group "$root/pyproject.toml:test"
    echo "$want" > "$oldest/.installed-from"
  fi
}
