"""Ready hook: the emulator answers for every service the template deploys to, or the start fails here,
naming what is missing (a LocalStack with a restricted SERVICES list, an emulator build without one).

The services follow from the template's resource types (STACK_TEMPLATE names the file: the repo's
template.yml for `make dev`, a read-only mount in compose), so a resource added to the template is checked
here with nothing else to edit, unless its service has no read call in CALLS yet: then the start fails,
naming the service and CALLS, before any call is made. Nothing the template needs goes unchecked.

Runs inside the emulator's container (MiniStack and LocalStack run /etc/localstack/init/ready.d/*.py with
their own Python, which has boto3 but not always PyYAML) and, for `make dev`, on the host against the same
emulator.
"""

import os
import re
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

HOOK = os.path.basename(__file__)

# boto3 service -> a cheap read call it must answer
CALLS = {
    "cloudformation": ("list_stacks", {}),
    "dynamodb": ("list_tables", {}),
    "s3": ("list_buckets", {}),
    "iam": ("list_roles", {}),
    "lambda": ("list_functions", {}),
    "logs": ("describe_log_groups", {}),
    "apigatewayv2": ("get_apis", {}),
}

# AWS::Serverless::<Thing> -> what the SAM transform makes of it (a function: its role and its log group)
SERVERLESS = {
    "Function": ("lambda", "iam", "logs"),
    "HttpApi": ("apigatewayv2",),
}

# AWS::<Service>::<Thing> is boto3's service "<service>" in lower case, except for these
ALIASES = {
    "CertificateManager": "acm",
    "ElasticLoadBalancingV2": "elbv2",
    "KinesisFirehose": "firehose",
}

RESOURCES = re.compile(r"Resources:\s*(#.*)?")
TYPE = re.compile(r"Type:\s*(['\"]?)(?P<type>[\w:]+)\1\s*(#.*)?")
AWS_TYPE = re.compile(r"AWS::(?P<service>\w+)::(?P<thing>\w+)")


class Unchecked(Exception):
    """The template needs something this hook cannot check; the message says which table to extend."""


def resource_types(template: str) -> dict[str, str]:
    """Logical id -> Type, read line by line: the template's short-form tags (!Ref, !If) need a YAML loader
    taught them, and the emulator's Python may have no YAML at all. A resource is a key one level under the
    top-level `Resources:`; its Type is a key one level under the resource (block style)."""
    types: dict[str, str | None] = {}
    inside = False
    resource = ""
    resource_indent = key_indent = None
    for line in template.splitlines():
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        indent = len(line) - len(line.lstrip(" "))
        if indent == 0:
            inside = RESOURCES.fullmatch(text) is not None
        elif inside:
            resource_indent = resource_indent or indent
            if indent == resource_indent:
                resource, key_indent = text.partition(":")[0], None
                types[resource] = None
            else:
                key_indent = key_indent or indent
                found = TYPE.fullmatch(text) if indent == key_indent else None
                if found:
                    types[resource] = found["type"]
    if not types:
        raise Unchecked("the template has no resources under a top-level `Resources:`")
    untyped = [name for name, kind in types.items() if kind is None]
    if untyped:
        raise Unchecked(
            f"no `Type: ...` line one level under {', '.join(untyped)} (this hook reads the template line by"
            " line: write resources in block style)"
        )
    return {name: kind for name, kind in types.items() if kind is not None}


def required_services(template: str) -> dict[str, list[str]]:
    """boto3 service -> the resources that need it, CloudFormation (which deploys the stack) always. Raises
    Unchecked naming every resource or service this hook cannot map or call, and the table to add it to."""
    needed: dict[str, list[str]] = {"cloudformation": ["the stack itself"]}
    problems = []
    known = set(boto3.session.Session().get_available_services())
    for resource, kind in resource_types(template).items():
        found = AWS_TYPE.fullmatch(kind)
        if found is None:
            problems.append(f"{resource} ({kind}): not an AWS::<Service>::<Thing> type this hook can map")
            continue
        if found["service"] == "Serverless":
            services = SERVERLESS.get(found["thing"], ())
            if not services:
                problems.append(f"{resource} ({kind}): add what the SAM transform makes of it to SERVERLESS")
        else:
            services = (ALIASES.get(found["service"], found["service"].lower()),)
            if services[0] not in known:
                problems.append(
                    f"{resource} ({kind}): boto3 has no service {services[0]!r}: add it to ALIASES"
                )
                continue
        for service in services:
            needed.setdefault(service, []).append(resource)
    problems += [
        f"{service} (for {', '.join(resources)}): no read call for it: add one to CALLS"
        for service, resources in sorted(needed.items())
        if service not in CALLS
    ]
    if problems:
        raise Unchecked(f"cannot check every service the template needs ({HOOK}): " + "; ".join(problems))
    return needed


def main() -> None:
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        sys.exit(f"{HOOK}: AWS_ENDPOINT_URL is not set (the emulator sets it for its init hooks)")
    template = os.environ.get("STACK_TEMPLATE")
    if not template:
        sys.exit(f"{HOOK}: STACK_TEMPLATE is not set (the path of the template whose services to check)")
    try:
        with open(template, encoding="utf-8") as file:
            needed = required_services(file.read())
    except OSError as error:
        sys.exit(f"{HOOK}: cannot read STACK_TEMPLATE: {error}")
    except Unchecked as error:
        sys.exit(f"{HOOK}: {error}")
    quick = Config(connect_timeout=2, read_timeout=10, retries={"max_attempts": 1})
    missing = []
    for service in sorted(needed):
        call, arguments = CALLS[service]
        try:
            getattr(boto3.client(service, endpoint_url=endpoint, config=quick), call)(**arguments)
        except (BotoCoreError, ClientError) as error:
            missing.append(f"{service} ({error})")
    if missing:
        sys.exit(f"{HOOK}: the emulator does not serve: " + "; ".join(missing))
    print(f"{HOOK}: {len(needed)} services answer at {endpoint}: {', '.join(sorted(needed))}")


if __name__ == "__main__":
    main()
