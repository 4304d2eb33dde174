"""What the shell entry points (scripts/, the Makefile) ask devstack, so no script holds inline Python.
`python -m devstack.for_shell QUESTION [ARG]`, one of:

    lambda-python          Lambda's CPython 3.13 (exit 1 when the machine has none)
    lambda-tools           where the pinned RIE, then the Web Adapter, are installed (one a line)
    requirements [--check] export backend/requirements.txt from uv.lock (--check: fail while it is stale)
    stack-name ENV         samconfig.toml's stack name of config env ENV
    check-samconfig ENV    fail, naming them, while ENV's deploy parameters hold replace-me placeholders
    output KEY             the value of output KEY in `sam list stack-outputs --output json` (on stdin)
    free-ports N           N different free loopback ports
    go-tool NAME PACKAGE VERSION   a Go tool's path, built once from the Go module proxy into the tool cache
    stack-status ENV       a deployed stack, its outputs and its function's configuration (boto3)

scripts/lib.sh's `devstack_ask` runs it with the project's .venv, else the machine's python3: everything but
stack-status needs the standard library only, so it answers before `make install` made the venv, and in the
deploy job, which installs nothing next to its AWS credentials.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable

from devstack import paths
from devstack.stack.samconfig import config_env
from devstack.supervision import StartupError, free_port
from devstack.tools import INSTALL_HINT, LambdaTools, go_tool, lambda_python, requirements_export

REQUIREMENTS = paths.BACKEND / "requirements.txt"


def _lambda_python(_: argparse.Namespace) -> int:
    found = lambda_python()
    if found is None:
        return 1
    print(found)
    return 0


def _lambda_tools(_: argparse.Namespace) -> int:
    tools = LambdaTools.pinned()
    print(tools.rie, tools.adapter, sep="\n")
    return 0


def _requirements(args: argparse.Namespace) -> int:
    if not args.check:
        subprocess.run(requirements_export(REQUIREMENTS), cwd=paths.REPO_ROOT, check=True)
        return 0
    exported = subprocess.run(
        requirements_export(), cwd=paths.REPO_ROOT, check=True, capture_output=True, text=True
    ).stdout
    if REQUIREMENTS.read_text() != exported:
        raise StartupError("backend/requirements.txt is out of date with uv.lock. Run: make requirements")
    return 0


def _stack_name(args: argparse.Namespace) -> int:
    print(config_env(args.env).stack_name)
    return 0


def _check_samconfig(args: argparse.Namespace) -> int:
    unset = config_env(args.env).placeholders()
    if unset:
        raise StartupError(
            f"samconfig.toml [{args.env}.deploy.parameters] still has replace-me-* placeholders in: "
            f"{' '.join(unset)}\nset your Firebase project id and AWS account id there before deploying "
            f"{args.env}."
        )
    return 0


def _output(args: argparse.Namespace) -> int:
    text = sys.stdin.read()
    try:
        outputs = {output["OutputKey"]: output["OutputValue"] for output in json.loads(text)}
    except (ValueError, TypeError, KeyError):
        raise StartupError(f"expected `sam list stack-outputs --output json`, got {text[:200]!r}") from None
    if args.key not in outputs:
        raise StartupError(f"the stack has no output {args.key} (it has: {', '.join(outputs) or 'none'})")
    print(outputs[args.key])
    return 0


def _free_ports(args: argparse.Namespace) -> int:
    chosen: list[int] = []
    for _ in range(args.count):
        chosen.append(free_port(avoid=chosen))
    print(*chosen)
    return 0


def _go_tool(args: argparse.Namespace) -> int:
    print(go_tool(args.name, args.package, args.version))
    return 0


def _stack_status(args: argparse.Namespace) -> int:
    # boto3 is the one import outside the standard library: only this question needs the project's venv.
    try:
        import boto3
        from botocore.exceptions import ClientError
    except ImportError:
        raise StartupError(f"stack-status needs boto3 from the project's .venv. {INSTALL_HINT}") from None
    stack = config_env(args.env).stack_name
    try:
        described = boto3.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    except ClientError as error:
        raise StartupError(f"stack {stack}: {error.response['Error']['Message']}") from None
    updated = described.get("LastUpdatedTime", described["CreationTime"])
    print(f"Stack    {stack}: {described['StackStatus']} (updated {updated})")
    outputs = {output["OutputKey"]: output["OutputValue"] for output in described.get("Outputs", [])}
    for key, value in outputs.items():
        print(f"  {key:22} {value}")
    function = outputs.get("FunctionName")
    if function:
        configuration = boto3.client("lambda").get_function_configuration(FunctionName=function)
        print(f"Function {function}")
        for key in (
            "Runtime",
            "Handler",
            "Architectures",
            "MemorySize",
            "Timeout",
            "LastModified",
            "State",
            "LastUpdateStatus",
        ):
            print(f"  {key:22} {configuration.get(key)}")
        print(f"  {'Layers':22} {[layer['Arn'] for layer in configuration.get('Layers', [])]}")
        variables = configuration.get("Environment", {}).get("Variables", {})
        print(f"  {'Environment':22} {json.dumps(variables, sort_keys=True)}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m devstack.for_shell", description=__doc__.split("\n")[0])
    questions = parser.add_subparsers(required=True, metavar="QUESTION")

    def question(
        name: str, answer: Callable[[argparse.Namespace], int], summary: str
    ) -> argparse.ArgumentParser:
        asked = questions.add_parser(name, help=summary)
        asked.set_defaults(answer=answer)
        return asked

    question("lambda-python", _lambda_python, "Lambda's CPython 3.13 (exit 1 when the machine has none)")
    question("lambda-tools", _lambda_tools, "the pinned RIE's and Web Adapter's paths, one a line")
    question("requirements", _requirements, "export backend/requirements.txt from uv.lock").add_argument(
        "--check", action="store_true", help="fail when backend/requirements.txt is out of date instead"
    )
    question("stack-name", _stack_name, "samconfig.toml's stack name of a config env").add_argument("env")
    question("check-samconfig", _check_samconfig, "fail while a config env has placeholders").add_argument(
        "env"
    )
    question("output", _output, "one output of `sam list stack-outputs --output json` (stdin)").add_argument(
        "key"
    )
    question("free-ports", _free_ports, "different free loopback ports").add_argument("count", type=int)
    built = question("go-tool", _go_tool, "a Go tool's path, built once into the tool cache")
    for argument in ("name", "package", "version"):
        built.add_argument(argument)
    question("stack-status", _stack_status, "a deployed stack and its function (boto3)").add_argument("env")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        answer: Callable[[argparse.Namespace], int] = args.answer
        return answer(args)
    except StartupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as error:  # the tool (uv) said why on stderr
        return error.returncode


if __name__ == "__main__":
    sys.exit(main())
