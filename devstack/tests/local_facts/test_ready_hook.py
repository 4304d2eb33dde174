"""The emulator's ready check (localstack/init/ready.d/10-check-services.py) checks the services the
template deploys to, read from the template: a resource added there is checked, or the start fails naming
what to add."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import boto3
import pytest
import yaml

from devstack import config, paths
from devstack.emulators.ministack import READY_HOOKS, ministack, run_ready_hooks
from devstack.supervision import StartupError, free_port

HOOK_FILE = READY_HOOKS / "10-check-services.py"
QUEUE = "  Queue:\n    Type: AWS::SQS::Queue\n    Properties:\n      VisibilityTimeout: 60\n"


@pytest.fixture(scope="module")
def hook() -> ModuleType:
    """The hook as a module (its checks run only as a script), to call its derivation without an emulator."""
    spec = importlib.util.spec_from_file_location("check_services", HOOK_FILE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def with_resources(tmp_path: Path, resources: str) -> Path:
    """A copy of template.yml with `resources` (YAML, indented as resources are) first under Resources."""
    text = paths.TEMPLATE.read_text()
    assert text.count("\nResources:\n") == 1
    copy = tmp_path / "template.yml"
    copy.write_text(text.replace("\nResources:\n", f"\nResources:\n{resources}"))
    return copy


def test_it_reads_every_resource_type_as_yaml_does(hook: ModuleType) -> None:
    """Its line-based read (no PyYAML in the emulator's Python) agrees with a YAML parser on template.yml."""
    root = yaml.compose(paths.TEMPLATE.read_text(), Loader=yaml.SafeLoader)  # nodes: no tag constructors
    assert root is not None
    resources = next(value for key, value in root.value if key.value == "Resources")
    declared = {
        name.value: next(field.value for key, field in resource.value if key.value == "Type")
        for name, resource in resources.value
    }
    assert hook.resource_types(paths.TEMPLATE.read_text()) == declared


def test_an_added_queue_is_required(
    hook: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    template = with_resources(tmp_path, QUEUE).read_text()
    monkeypatch.setitem(hook.CALLS, "sqs", ("list_queues", {}))
    needed = hook.required_services(template)
    assert needed["sqs"] == ["Queue"]
    assert needed["dynamodb"] == ["Table"]  # what it checked before, still checked


def test_an_added_queue_without_a_read_call_fails_the_start(tmp_path: Path) -> None:
    """Run as the emulator runs it, aimed at a closed port: it fails before making a call."""
    closed = config.load().aws.client_environment(f"http://127.0.0.1:{free_port()}")
    env = {**os.environ, **closed, "STACK_TEMPLATE": str(with_resources(tmp_path, QUEUE))}
    done = subprocess.run(
        [sys.executable, str(HOOK_FILE)], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode != 0
    assert "sqs (for Queue): no read call for it: add one to CALLS" in done.stderr
    assert HOOK_FILE.name in done.stderr


@pytest.mark.parametrize(
    ("resources", "named"),
    [
        (
            "  Machine:\n    Type: AWS::Serverless::StateMachine\n",
            "Machine (AWS::Serverless::StateMachine): add",
        ),
        ("  Pool:\n    Type: AWS::Cognito::UserPool\n", "boto3 has no service 'cognito': add it to ALIASES"),
        ("  Queue: {Type: AWS::SQS::Queue}\n", "no `Type: ...` line one level under Queue"),
    ],
    ids=["sam-type", "boto3-name", "flow-style"],
)
def test_what_it_cannot_map_is_named_with_what_to_edit(
    hook: ModuleType, tmp_path: Path, resources: str, named: str
) -> None:
    with pytest.raises(hook.Unchecked, match=re.escape(named)):
        hook.required_services(with_resources(tmp_path, resources).read_text())


def test_its_tables_name_real_services_and_calls(hook: ModuleType) -> None:
    """A typo in a table would otherwise surface only as a service the emulator "does not serve"."""
    known = set(boto3.session.Session().get_available_services())
    mapped = {service for services in hook.SERVERLESS.values() for service in services}
    assert mapped | set(hook.ALIASES.values()) <= known
    for service, (call, _arguments) in hook.CALLS.items():
        assert hasattr(boto3.client(service, region_name=config.load().aws.region), call), (service, call)


def test_make_devs_emulator_checks_the_template_it_is_given(tmp_path: Path) -> None:
    """Against MiniStack, as `make dev` runs the hooks: template.yml passes (at start), a copy that needs a
    service without a read call fails, naming it."""
    aws = config.load().isolated().aws
    needs_sqs = with_resources(tmp_path, QUEUE)
    with (
        ministack(aws, paths.TEMPLATE, sink=lambda _part, _line: None) as endpoint,
        pytest.raises(StartupError, match=r"10-check-services\.py.*sqs \(for Queue\).*add one to CALLS"),
    ):
        run_ready_hooks(aws, endpoint, needs_sqs)
