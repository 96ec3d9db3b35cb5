#!/usr/bin/env bash
# Regenerate the expected selections of tests/data/lockfiles/requirements with the real tool (uv), not with our code.
# Usage: UV=/path/to/uv bash tests/data/expected/requirements/regenerate.sh   (needs python3.10, 3.12, 3.13 on PATH;
# with pyenv: PYENV_VERSION=3.12.1:3.11.7:3.13.0:3.10.13). Needs the network: uv downloads the wheels' metadata.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
data=$(cd "$here/../../lockfiles/requirements" && pwd)
uv=${UV:-uv}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for minor in 3.10 3.12 3.13; do
  "$uv" venv -q --no-python-downloads -p "$(command -v "python$minor")" "$work/py$minor"
done

# case name, then the lockfile relative to tests/data/lockfiles/requirements
cases=(
  "pypi__warehouse__docs-user pypi__warehouse__docs-user.txt"
  "pip-compile-markers pip-compile-markers.txt"
  "uv-export uv-export/requirements.txt"
)
for case in "${cases[@]}"; do
  read -r name file <<<"$case"
  outputs=()
  for minor in 3.10 3.12 3.13; do
    out="$work/$name-$minor.out"
    # run from the file's directory: uv resolves the file's relative paths (-e ., ./libs/helper) against it
    (cd "$data/$(dirname "$file")" &&
      "$uv" pip install --dry-run --no-deps --python "$work/py$minor/bin/python" -r "$(basename "$file")" >"$out" 2>&1)
    outputs+=("$minor=$out")
  done
  "$work/py3.12/bin/python" - "$here/$name.json" "$file" "$("$uv" --version)" "${outputs[@]}" <<'EOF'
import json, re, subprocess, sys

target, file, uv_version, *outputs = sys.argv[1:]
pythons = {}
for item in outputs:
    minor, out = item.split("=", 1)
    chosen = {}
    for line in open(out, encoding="utf-8"):
        # " + name==version", " + name==version (from url)", " + name @ file:///dir" (a directory: no version shown)
        if match := re.match(r"^ \+ (\S+?)(?:==(\S+)| @ \S+)", line):
            chosen[match[1]] = match[2]
    pythons[minor] = dict(sorted(chosen.items()))
document = {
    "lockfile": file,
    "tool": uv_version,
    "command": f"uv pip install --dry-run --no-deps --python <a fresh venv of python3.X> -r {file} (in its directory)",
    "note": "null: a local directory, whose version the tool does not print (our pick has version None)",
    "pythons": pythons,
}
with open(target, "w", encoding="utf-8") as stream:
    json.dump(document, stream, indent=2)
    stream.write("\n")
EOF
done
