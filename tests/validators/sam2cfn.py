"""Translates an AWS SAM template into plain CloudFormation offline, with the
aws-sam-translator that `sam deploy` uses: `python sam2cfn.py TEMPLATE OUT.json`.
Needs AWS_DEFAULT_REGION (the translator fills the region's pseudo parameters). Managed
policy names resolve from the static map below, so it never calls IAM."""

import json
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

# The AWS managed policies SAM may attach by name (its implicit roles and policy
# templates), with their ARNs in the `aws` partition.
MANAGED_POLICIES = {
    name: f"arn:aws:iam::aws:policy/{path}{name}"
    for path, name in [
        ("service-role/", "AWSLambdaBasicExecutionRole"),
        ("service-role/", "AWSLambdaVPCAccessExecutionRole"),
        ("service-role/", "AWSLambdaSQSQueueExecutionRole"),
        ("", "AWSXrayWriteOnlyAccess"),
        ("", "AWSXRayDaemonWriteAccess"),
    ]
}


class StaticPolicyLoader:
    """What the translator asks IAM for, answered from MANAGED_POLICIES."""

    def load(self):
        return dict(MANAGED_POLICIES)


def main() -> int:
    if len(sys.argv) != 3:
        sys.stderr.write("usage: sam2cfn.py TEMPLATE OUT.json\n")
        return 2
    with open(sys.argv[1], encoding="utf-8") as f:
        template = yaml_parse(f.read())
    translated = transform(template, {}, StaticPolicyLoader())
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        json.dump(translated, f, indent=2, sort_keys=True)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
