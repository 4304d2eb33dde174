"""The stack model: template.yml read once for a config env, the function's environment following from the
template and the deployed stack with no mapping of its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack import config
from devstack.paths import TEMPLATE
from devstack.stack.model import local_stack, read_stack
from devstack.supervision import StartupError

FUNCTION = "ApiFunction"


def test_refs_to_resources_resolve_once_deployed() -> None:
    declared = local_stack(config.load())
    assert "DYNAMODB_TABLE" in declared.function(FUNCTION).unresolved
    deployed = declared.deployed({"Table": "t-1", "UploadsBucket": "b-1"}, {"TableName": "t-1"})
    function = deployed.function(FUNCTION)
    assert (function.environment["DYNAMODB_TABLE"], function.environment["S3_BUCKET"]) == ("t-1", "b-1")
    assert function.unresolved == []


def test_a_resource_added_to_the_template_reaches_the_function_with_nothing_else_edited(
    tmp_path: Path,
) -> None:
    """A queue and a variable naming it, in a copy of template.yml: the function gets the queue's physical
    id once deployed, with no edit to devstack (before the stack model, environment.py mapped DYNAMODB_TABLE
    and S3_BUCKET by hand from the outputs, and QUEUE_URL would have stayed unset)."""
    text = TEMPLATE.read_text()
    text = text.replace(
        "          S3_BUCKET: !Ref UploadsBucket\n",
        "          S3_BUCKET: !Ref UploadsBucket\n          QUEUE_URL: !Ref Jobs\n",
    )
    text = text.replace("\nOutputs:\n", "\n  Jobs:\n    Type: AWS::SQS::Queue\n\nOutputs:\n")
    copy = tmp_path / "template.yml"
    copy.write_text(text)
    declared = local_stack(config.load(), template_path=copy)
    assert declared.resources["Jobs"] == "AWS::SQS::Queue"
    queue_url = "http://127.0.0.1:1/123456789012/jobs"
    deployed = declared.deployed({"Table": "t", "UploadsBucket": "b", "Jobs": queue_url}, {})
    assert deployed.function(FUNCTION).environment["QUEUE_URL"] == queue_url


def test_each_config_env_gets_its_own_parameters() -> None:
    prod = read_stack("prod", region=config.load().aws.region)
    local = local_stack(config.load())
    assert prod.name != local.name
    assert prod.function(FUNCTION).environment["ENVIRONMENT"] == "prod"
    assert local.parameter_overrides["FirebaseProjectId"] == config.load().firebase.project_id


def test_a_function_the_template_lacks_is_named() -> None:
    with pytest.raises(StartupError, match="declares no function 'Missing'"):
        local_stack(config.load()).function("Missing")
