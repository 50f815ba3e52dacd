"""Validates mlc's Kubernetes output against the JSON Schemas in tests/schemas/ that
cover what kubernetes-validate has no schema for: custom resources (KEDA, Knative) and
kustomization.yaml. Any other document must be of a built-in API group, so that a new
custom resource cannot slip through without its schema.

usage: validate_resources.py SCHEMA_DIR FILE...   (exit 1 and one line per problem)
"""
import json
import pathlib
import sys

import jsonschema
import referencing
import yaml

BUILT_IN = {"v1", "apps/v1", "batch/v1", "policy/v1", "autoscaling/v2",
            "networking.k8s.io/v1", "rbac.authorization.k8s.io/v1"}
SCHEMAS = {
    ("keda.sh/v1alpha1", "ScaledObject"): "keda-scaledobject.schema.json",
    ("serving.knative.dev/v1", "Service"): "knative-service.schema.json",
    ("kustomize.config.k8s.io/v1beta1", "Kustomization"): "kustomization.schema.json",
}


def main():
    schema_dir = pathlib.Path(sys.argv[1])
    loaded = {p.name: json.loads(p.read_text()) for p in schema_dir.glob("*.json")}
    for schema in loaded.values():
        jsonschema.Draft202012Validator.check_schema(schema)
    registry = referencing.Registry().with_resources(
        (s["$id"], referencing.Resource.from_contents(s)) for s in loaded.values())
    problems, checked = [], 0
    for name in sys.argv[2:]:
        for doc in yaml.safe_load_all(pathlib.Path(name).read_text()):
            if doc is None:
                continue
            key = (doc.get("apiVersion"), doc.get("kind"))
            if key in SCHEMAS:
                schema = loaded[SCHEMAS[key]]
                validator = jsonschema.Draft202012Validator(schema, registry=registry)
                for error in validator.iter_errors(doc):
                    path = ".".join(str(p) for p in error.absolute_path)
                    problems.append(f"{name}: {key[1]} {path}: {error.message}")
                checked += 1
            elif key[0] not in BUILT_IN:
                problems.append(f"{name}: no schema for {key[0]} {key[1]}")
    for p in problems:
        print(p)
    print(f"{checked} documents checked against tests/schemas", file=sys.stderr)
    sys.exit(1 if problems else 0)


main()
