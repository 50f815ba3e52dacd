"""Checks every argument and block of the Terraform a build writes against the providers'
published schemas: the `@cdktf/provider-*` npm packages, which HashiCorp's tooling
generates from each provider's schema (see ../shared/research/offline-validation.md).
setup.sh unpacks the packages that match the provider versions mlc pins into
CDKTF_DIR/<provider>-<provider version>/lib/.

For each resource and data source, the keys a class's `synthesizeAttributes()` returns
are its arguments and blocks; a block's keys are those its `<name>ToTerraform(struct)`
function returns, followed recursively.

usage: provider_schema.py CDKTF_DIR DIR   (one line per problem, exit 1 if any)
"""
import glob
import os
import re
import sys

import hcl2

# Terraform's own arguments, valid on any resource or data source.
META = {"provider", "count", "for_each", "depends_on", "lifecycle", "provisioner",
        "connection", "dynamic"}
ASSIGN = re.compile(r"^\s+([a-z0-9_]+): (.*?),?$")
CALL = re.compile(r"([A-Za-z0-9]+ToTerraform)\b")


class Schema:
    """The argument names of one provider version's resources, read lazily."""

    def __init__(self, lib):
        self.lib = lib
        self.cache = {}

    def sources(self, folder):
        files = [os.path.join(folder, "index.js")]
        files += sorted(glob.glob(os.path.join(folder, "index-structs", "*.js")))
        return "\n".join(open(f).read() for f in files if os.path.exists(f))

    def of(self, kind, data):
        """{key: nested function or None} of a resource (or data source) type, or None."""
        provider, _, rest = kind.partition("_")
        name = ("data-" + provider + "-" if data else "") + rest.replace("_", "-")
        folder = os.path.join(self.lib, name)
        if not os.path.isdir(folder):
            return None
        if folder not in self.cache:
            text = self.sources(folder)
            body = between(text, "synthesizeAttributes() {", "    }\n")
            self.cache[folder] = (text, keys(body))
        return self.cache[folder]


def between(text, start, end):
    i = text.find(start)
    if i < 0:
        return ""
    j = text.find(end, i)
    return text[i:j]


def keys(body):
    """`key: ...` lines of a returned object: key -> the ToTerraform function it calls."""
    found = {}
    for line in body.splitlines():
        m = ASSIGN.match(line)
        if not m:
            continue
        call = CALL.search(m.group(2))
        found[m.group(1)] = call.group(1) if call else None
    return found


def function_keys(text, function):
    body = between(text, "function " + function + "(struct) {", "\n}\n")
    return keys(between(body, "return {", "};"))


def check(text, allowed, value, where, problems):
    """`value` (a block body from python-hcl2) uses only the keys in `allowed`."""
    for key, inner in value.items():
        if key in ("__is_block__", "__comments__", "__inline_comments__") or key in META:
            continue
        if key not in allowed:
            problems.append(f"{where}: `{key}` is not an argument or block of the provider's schema")
            continue
        function = allowed[key]
        blocks = inner if isinstance(inner, list) else [inner]
        for block in blocks:
            if function and isinstance(block, dict) and block.get("__is_block__"):
                check(text, function_keys(text, function), block, f"{where}.{key}", problems)


def main():
    cdktf, root = sys.argv[1], sys.argv[2]
    schemas = {}
    problems = []
    checked = 0
    for path in sorted(glob.glob(os.path.join(root, "**", "*.tf"), recursive=True)):
        with open(path) as f:
            body = hcl2.load(f)
        pins = {}
        for name in glob.glob(os.path.join(os.path.dirname(path), "versions.tf")):
            with open(name) as f:
                for block in hcl2.load(f).get("terraform", []):
                    for required in block.get("required_providers", []):
                        for provider, spec in required.items():
                            if isinstance(spec, dict):
                                pins[provider] = spec["version"].strip('"')
        for section, data in (("resource", False), ("data", True)):
            for block in body.get(section, []):
                for kind, labelled in block.items():
                    kind = kind.strip('"')
                    provider = kind.partition("_")[0]
                    if provider not in pins:
                        problems.append(f"{path}: {kind}: provider {provider} is not pinned in versions.tf")
                        continue
                    lib = os.path.join(cdktf, f"{provider}-{pins[provider]}", "lib")
                    if not os.path.isdir(lib):
                        problems.append(f"{path}: no schema for {provider} {pins[provider]} (tests/validators/setup.sh)")
                        continue
                    schema = schemas.setdefault(lib, Schema(lib))
                    for label, value in labelled.items():
                        found = schema.of(kind, data)
                        where = f"{path}: {section} {kind}.{label.strip(chr(34))}"
                        if found is None:
                            problems.append(f"{where}: no such {section} type in {provider} {pins[provider]}")
                            continue
                        text, allowed = found
                        check(text, allowed, value, where, problems)
                        checked += 1
    for p in problems:
        print(p)
    print(f"{checked} resources and data sources checked against the providers' schemas",
          file=sys.stderr)
    sys.exit(1 if problems or checked == 0 else 0)


main()
