"""Lists the names a build gives its resources, for the deploy check (tests/deploy.rs) to
hold against the providers' rules in src/emit/names.rs. Prints one JSON array of
[file, type, label, argument, value] rows:
- every string argument of every Terraform resource, a nested block's as
  `block.argument` (python-hcl2 parses the `.tf` files; a literal keeps its quotes, an
  expression is `${...}`);
- `metadata.name` of every Kubernetes object, as ["kubernetes", Kind, ...];
- the name properties of SAM templates' resources, as ["sam", Type, ...].

usage: build_names.py DIR
"""
import json
import pathlib
import sys

import hcl2
import yaml


class CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (`!Ref`, `!Sub`, ...), kept as plain values."""


def _any_tag(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_mapping(node)


CfnLoader.add_multi_constructor("!", _any_tag)

SAM_NAMES = {"AWS::Serverless::Function": "FunctionName"}


def arguments(body, prefix=""):
    """(argument, value) of every string argument of a block, nested blocks' as
    `block.argument`."""
    for key, value in body.items():
        if isinstance(value, str):
            yield prefix + key, value
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, dict) and item.get("__is_block__"):
                    yield from arguments(item, prefix + key + ".")


def terraform(path, rows):
    with open(path) as f:
        body = hcl2.load(f)
    for block in body.get("resource", []):
        for kind, labelled in block.items():
            for label, body in labelled.items():
                for argument, value in arguments(body):
                    rows.append([str(path), kind.strip('"'), label.strip('"'), argument, value])


def manifests(path, rows):
    text = path.read_text()
    if "AWSTemplateFormatVersion" in text:
        template = yaml.load(text, Loader=CfnLoader)
        for label, resource in template.get("Resources", {}).items():
            prop = SAM_NAMES.get(resource.get("Type"))
            value = resource.get("Properties", {}).get(prop) if prop else None
            if isinstance(value, str):
                rows.append([str(path), "sam", resource["Type"], prop, json.dumps(value)])
        return
    for doc in yaml.safe_load_all(text):
        if isinstance(doc, dict) and "metadata" in doc and "name" in doc["metadata"]:
            name = doc["metadata"]["name"]
            rows.append([str(path), "kubernetes", doc["kind"], "metadata.name", json.dumps(name)])


def main():
    rows = []
    root = pathlib.Path(sys.argv[1])
    for path in sorted(root.rglob("*")):
        if path.suffix == ".tf":
            terraform(path, rows)
        elif path.suffix in (".yaml", ".yml") and "harness" not in path.parts:
            manifests(path, rows)
    json.dump(rows, sys.stdout)


main()
