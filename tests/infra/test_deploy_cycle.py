"""sam build + deploy -> update -> delete of the real template against a MiniStack of its own (~40 s),
through devstack's deploy path (the one `make dev`, `make deploy-local` and CI use), and `make dev`'s deploy
that is skipped only while nothing it deploys changed and the stack is there.

What it proves: the template deploys through the SAM transform on the emulator, its outputs read back,
a parameter change updates the stack in place, and `sam delete` removes everything. It cannot prove that the
function serves requests (the emulator cannot run the Web Adapter; see docs/local-emulator-limits.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from devstack import config
from devstack.deploy import (
    delete_from_emulator,
    deploy_to_emulator,
    deploy_unless_unchanged,
    emulator_session,
)
from devstack.emulators.ministack import ministack
from devstack.paths import TEMPLATE
from devstack.stack.model import local_stack
from devstack.stack.samconfig import LOCAL, config_env
from devstack.supervision import LogCapture
from tests.support.build import sam_build

pytestmark = pytest.mark.integration

STACK = config_env(LOCAL).stack_name


@pytest.fixture(scope="module")
def facts() -> config.LocalFacts:
    return config.load().isolated()


@pytest.fixture(scope="module")
def emulator(facts: config.LocalFacts) -> Iterator[str]:
    with ministack(facts.aws, TEMPLATE) as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def built_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sam_build(tmp_path_factory.mktemp("sam-build"))


def _stack(facts: config.LocalFacts, endpoint: str) -> dict[str, Any] | None:
    cloudformation = emulator_session(facts.aws).client("cloudformation", endpoint_url=endpoint)
    try:
        stack: dict[str, Any] = dict(cloudformation.describe_stacks(StackName=STACK)["Stacks"][0])
    except ClientError:
        return None
    return stack


def test_deploy_update_destroy(facts: config.LocalFacts, emulator: str, built_template: Path) -> None:
    quiet = lambda _part, _line: None  # noqa: E731 (the deploy's output only matters when it fails)
    deployed = deploy_to_emulator(
        local_stack(facts), facts.aws, emulator, template_file=built_template, sink=quiet
    )
    outputs = deployed.outputs
    stack = _stack(facts, emulator)
    assert stack is not None
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert outputs["ApiUrl"].startswith("https://")
    assert f".execute-api.{facts.aws.region}." in outputs["ApiUrl"]
    assert outputs["TableName"] == f"{STACK}-main"
    assert outputs["FunctionName"] == f"{STACK}-api"
    session = emulator_session(facts.aws)
    function = session.client("lambda", endpoint_url=emulator).get_function_configuration(
        FunctionName=outputs["FunctionName"]
    )
    assert function["Handler"] == "run.sh"
    variables = function["Environment"]["Variables"]
    assert variables["DYNAMODB_TABLE"] == outputs["TableName"]
    assert variables["S3_BUCKET"] == outputs["BucketName"]
    assert variables["FIREBASE_PROJECT_ID"] == facts.firebase.project_id
    table = session.client("dynamodb", endpoint_url=emulator).describe_table(TableName=outputs["TableName"])
    assert [index["IndexName"] for index in table["Table"]["GlobalSecondaryIndexes"]] == ["GSI1"]
    session.client("s3", endpoint_url=emulator).head_bucket(Bucket=outputs["BucketName"])

    shorter_retention = local_stack(facts, overrides={"LogRetentionDays": "3"})
    deploy_to_emulator(shorter_retention, facts.aws, emulator, template_file=built_template, sink=quiet)
    stack = _stack(facts, emulator)
    assert stack is not None
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    groups = session.client("logs", endpoint_url=emulator).describe_log_groups(
        logGroupNamePrefix=f"/aws/lambda/{STACK}-api"
    )["logGroups"]
    assert [group.get("retentionInDays") for group in groups] == [3]

    delete_from_emulator(deployed, facts.aws, emulator, sink=quiet)
    assert _stack(facts, emulator) is None
    assert (
        outputs["TableName"]
        not in session.client("dynamodb", endpoint_url=emulator).list_tables()["TableNames"]
    )


def _deploys(
    facts: config.LocalFacts, emulator: str, built_template: Path, record: Path, **overrides: str
) -> bool:
    """`make dev`'s deploy of the private build; True when the SAM CLI ran (False: skipped)."""
    capture = LogCapture()
    deploy_unless_unchanged(
        local_stack(facts, overrides=overrides),
        facts.aws,
        emulator,
        record=record,
        template_file=built_template,
        sink=capture,
    )
    return any("Deploying with following values" in line for line in capture.of("deploy"))


def test_make_dev_skips_only_an_unchanged_deploy_of_a_stack_that_is_there(
    facts: config.LocalFacts, emulator: str, built_template: Path, tmp_path: Path
) -> None:
    record = tmp_path / "deployed-stack.sha256"
    original = built_template.read_text()
    try:
        assert _deploys(facts, emulator, built_template, record)  # nothing deployed yet
        assert not _deploys(facts, emulator, built_template, record)  # a restart, nothing changed
        assert _stack(facts, emulator) is not None

        built_template.write_text(
            original.replace("        Variables:\n", "        Variables:\n          MARKER: changed\n", 1)
        )
        assert _deploys(facts, emulator, built_template, record)  # a changed template
        function = (
            emulator_session(facts.aws)
            .client("lambda", endpoint_url=emulator)
            .get_function_configuration(FunctionName=f"{STACK}-api")
        )
        assert function["Environment"]["Variables"]["MARKER"] == "changed"
        assert not _deploys(facts, emulator, built_template, record)

        assert _deploys(facts, emulator, built_template, record, LogRetentionDays="3")  # a parameter
        (built_template.parent / "ApiFunction" / "run.sh").touch()  # a rebuilt artifact
        assert _deploys(facts, emulator, built_template, record, LogRetentionDays="3")

        assert not _deploys(facts, emulator, built_template, record, LogRetentionDays="3")
        deploy_to_emulator(  # a user's own `samlocal deploy` of another version
            local_stack(facts), facts.aws, emulator, template_file=built_template, sink=LogCapture()
        )
        assert _deploys(facts, emulator, built_template, record, LogRetentionDays="3")

        delete_from_emulator(local_stack(facts), facts.aws, emulator, sink=LogCapture())  # state wiped
        assert _deploys(facts, emulator, built_template, record, LogRetentionDays="3")
        assert _stack(facts, emulator) is not None
    finally:
        built_template.write_text(original)
