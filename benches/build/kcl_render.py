"""Render benches/build/services.k with KCL (kcl-lib, in-process) and write the YAML.

Usage: python kcl_render.py SERVICES_JSON OUT_YAML
Run by benches/build/run.py inside its venv, as one process per render, so that its
whole-process time (interpreter start, loading KCL, compiling and running the program,
writing the file) compares with `mlc build`'s. Prints the seconds `exec_program` alone
took, and the number of YAML documents written.
"""

import os
import sys
import time

from kcl_lib import api

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    services_json, out_yaml = sys.argv[1], sys.argv[2]
    with open(services_json) as f:
        services = f.read()
    args = api.ExecProgramArgs(
        k_filename_list=[os.path.join(HERE, "services.k")],
        args=[
            # KCL may read files only under the program's own folder: the list goes in
            # as an option (KCL parses it as a literal).
            api.Argument(name="services", value=services),
            api.Argument(name="namespace", value="bench"),
        ],
    )
    start = time.perf_counter()
    result = api.API().exec_program(args)
    seconds = time.perf_counter() - start
    if result.err_message:
        sys.exit(f"kcl: {result.err_message}")
    with open(out_yaml, "w") as f:
        f.write(result.yaml_result)
    documents = result.yaml_result.count("\nkind: ") + result.yaml_result.startswith("kind: ")
    print(f"{seconds:.6f} {documents}")


if __name__ == "__main__":
    main()
