"""Validates harness config.json files against targets/harness/config.schema.json.

Usage: python harness_config_schema.py SCHEMA CONFIG...
Prints every violation with its file and JSON path; exits 1 if there is any.
"""
import json
import sys

from jsonschema import Draft202012Validator


def main() -> int:
    schema_path, *configs = sys.argv[1:]
    with open(schema_path, encoding="utf-8") as f:
        schema = json.load(f)
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    failures = 0
    for path in configs:
        with open(path, encoding="utf-8") as f:
            config = json.load(f)
        for error in sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path)):
            where = "/".join(str(p) for p in error.absolute_path) or "(root)"
            print(f"{path}: {where}: {error.message}")
            failures += 1
    print(f"{len(configs)} config(s), {failures} violation(s)")
    return 1 if failures or not configs else 0


if __name__ == "__main__":
    sys.exit(main())
