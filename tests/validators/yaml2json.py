"""Prints every YAML document of the given files as one JSON list of
{"file": FILE, "doc": DOCUMENT}, for tests that read generated manifests structurally.

usage: yaml2json.py FILE...
"""
import json
import pathlib
import sys

import yaml


def main():
    out = []
    for name in sys.argv[1:]:
        for doc in yaml.safe_load_all(pathlib.Path(name).read_text()):
            if doc is not None:
                out.append({"file": name, "doc": doc})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
