"""deploy/aws-account.yml, the account setup stack, read offline: what one environment's deploy pipeline may
do in the account.

The dev pipeline must not be able to reach staging or prod when they share an account. So: the role GitHub
assumes creates nothing itself, it hands change sets to a CloudFormation execution role; that role may
create or change a role only with the environment's permissions boundary attached, manage only its own
environment's resources (API Gateway by tag), and never the account stack's own roles; the boundary allows
only this environment's table, bucket and logs. The template's function role must carry that boundary and fit
inside it. Each environment uploads its code into a bucket of its own that no pipeline role can open up.
"""

from __future__ import annotations

import copy
import fnmatch
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest

from devstack.config import LOCAL_ACCOUNT_ID
from devstack.paths import REPO_ROOT
from devstack.stack.intrinsics import Evaluator, parameter_values
from devstack.stack.samconfig import config_env
from devstack.stack.template import load

Template = dict[str, Any]
Statement = dict[str, Any]
Synth = Callable[..., Template]
CreatePermissions = Callable[[str, Iterable[str]], dict[str, list[str]]]

ENVS = ["dev", "staging", "prod"]
PREFIX = "fastapi-backend"  # the account stack's StackNamePrefix default = samconfig's stack names
ACCOUNT_STACK = REPO_ROOT / "deploy" / "aws-account.yml"
ARTIFACT_BUCKET = "ArtifactBucket"  # the logical id of the environment's SAM artifact bucket


def region(env: str) -> str:
    """Where samconfig deploys `env`, and so where its account stack lives."""
    found = config_env(env).region
    assert found is not None
    return found


# What gives a role permissions. Each must require the boundary.
ROLE_PERMISSION_WRITES = [
    "iam:CreateRole",
    "iam:PutRolePolicy",
    "iam:AttachRolePolicy",
    "iam:DetachRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:PutRolePermissionsBoundary",
]
# What would undo the boundary, or let a role be assumed by someone else. Never allowed.
BOUNDARY_BYPASSES = [
    "iam:DeleteRolePermissionsBoundary",
    "iam:UpdateAssumeRolePolicy",
    "iam:CreatePolicyVersion",
    "iam:SetDefaultPolicyVersion",
    "iam:DeletePolicy",
    "iam:CreateUser",
    "iam:CreatePolicy",
]


def account_stack(env: str) -> Template:
    """The account setup stack as deployed for `env`: parameters and Subs resolved, and the artifact bucket's
    name and ARN as CloudFormation gives them (its name is fixed); other resources' Refs stay intrinsics."""
    document = load(ACCOUNT_STACK)
    given = {"GitHubRepository": "owner/repo", "Environment": env, "CreateOidcProvider": "true"}
    parameters = parameter_values(document, given, f"github-deploy-{env}", region(env))
    bucket = Evaluator(document, parameters).value(
        document["Resources"][ARTIFACT_BUCKET]["Properties"]["BucketName"]
    )
    parameters |= {ARTIFACT_BUCKET: bucket, f"{ARTIFACT_BUCKET}.Arn": f"arn:aws:s3:::{bucket}"}
    resolved: Template = Evaluator(document, parameters).value(document)
    return resolved


def artifact_bucket(template: Template) -> str:
    name: str = template["Resources"][ARTIFACT_BUCKET]["Properties"]["BucketName"]
    return name


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements(template: Template, resource_type: str | None = None) -> Iterator[tuple[str, Statement]]:
    """(logical id, statement) of every IAM policy in the template (roles' inline policies, managed ones)."""
    for logical_id, resource in template["Resources"].items():
        if resource_type is not None and resource["Type"] != resource_type:
            continue
        props = resource.get("Properties", {})
        documents = [policy["PolicyDocument"] for policy in props.get("Policies", [])]
        if resource["Type"] == "AWS::IAM::ManagedPolicy":
            documents.append(props["PolicyDocument"])
        for document in documents:
            for statement in document["Statement"]:
                assert "NotAction" not in statement, (logical_id, statement)
                assert "NotResource" not in statement, (logical_id, statement)
                yield logical_id, statement


def allows(statement: Statement, action: str) -> bool:
    return statement["Effect"] == "Allow" and any(
        fnmatch.fnmatchcase(action.lower(), pattern.lower()) for pattern in _listed(statement["Action"])
    )


def _resources_where(template: Template, kind: str, test: Callable[[dict[str, Any]], bool]) -> list[str]:
    return [
        str(logical_id)
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == kind and test(resource["Properties"])
    ]


def _trusted(properties: dict[str, Any]) -> dict[str, Any]:
    principal: dict[str, Any] = properties["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
    return principal


def deploy_role(template: Template) -> str:
    """The role GitHub's OIDC tokens assume."""
    (found,) = _resources_where(template, "AWS::IAM::Role", lambda props: "Federated" in _trusted(props))
    return found


def execution_role(template: Template) -> str:
    """The role CloudFormation assumes to create the stack's resources."""
    (found,) = _resources_where(
        template,
        "AWS::IAM::Role",
        lambda props: _trusted(props) == {"Service": "cloudformation.amazonaws.com"},
    )
    return found


def boundaries(template: Template) -> list[str]:
    return _resources_where(template, "AWS::IAM::ManagedPolicy", lambda _: True)


def boundary(template: Template) -> str:
    (found,) = boundaries(template)
    return found


@pytest.mark.parametrize("env", ENVS)
def test_no_role_gets_permissions_without_the_boundary(env: str) -> None:
    template = account_stack(env)
    the_boundaries = [{"Ref": logical_id} for logical_id in boundaries(template)]
    for owner, statement in statements(template):
        for action in ROLE_PERMISSION_WRITES:
            if allows(statement, action):
                condition = statement.get("Condition", {}).get("StringEquals", {})
                assert condition.get("iam:PermissionsBoundary") in the_boundaries, (
                    f"{owner} {statement.get('Sid')}: {action} without the permissions boundary"
                )
    assert len(the_boundaries) == 1


@pytest.mark.parametrize("env", ENVS)
def test_nothing_may_remove_or_rewrite_the_boundary(env: str) -> None:
    for owner, statement in statements(account_stack(env)):
        for action in BOUNDARY_BYPASSES:
            assert not allows(statement, action), f"{owner} {statement.get('Sid')} allows {action}"


@pytest.mark.parametrize("env", ENVS)
def test_the_github_role_only_hands_change_sets_to_the_execution_role(env: str) -> None:
    template = account_stack(env)
    role = deploy_role(template)
    execution_role_arn = {"Fn::GetAtt": [execution_role(template), "Arn"]}
    app_stack = f"arn:aws:cloudformation:{region(env)}:{LOCAL_ACCOUNT_ID}:stack/{PREFIX}-{env}/*"
    own = [statement for owner, statement in statements(template) if owner == role]
    creating = ["lambda:CreateFunction", "dynamodb:CreateTable", "apigateway:POST", "logs:CreateLogGroup"]
    for statement in own:
        assert not any(allows(statement, action) for action in [*ROLE_PERMISSION_WRITES, *creating]), (
            statement
        )
        if allows(statement, "cloudformation:CreateChangeSet") and app_stack in _listed(
            statement["Resource"]
        ):
            assert statement["Condition"] == {"ArnEquals": {"cloudformation:RoleArn": execution_role_arn}}
        if allows(statement, "iam:PassRole"):
            assert _listed(statement["Resource"]) == [execution_role_arn]
            assert statement["Condition"] == {
                "StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}
            }
    assert any(allows(statement, "iam:PassRole") for statement in own)


@pytest.mark.parametrize("env", ENVS)
def test_api_gateway_is_reached_only_through_this_environments_tag(env: str) -> None:
    for owner, statement in statements(account_stack(env)):
        actions = [
            action for action in _listed(statement["Action"]) if action.lower().startswith("apigateway:")
        ]
        if not actions:
            continue
        assert "apigateway:*" not in actions, f"{owner} {statement.get('Sid')}"
        resources = _listed(statement["Resource"])
        assert "*" not in resources, f"{owner} {statement.get('Sid')}: API Gateway on every resource"
        if any(resource.endswith("::/apis/*") for resource in resources):
            assert statement["Condition"] == {"StringEquals": {"aws:ResourceTag/environment": env}}


@pytest.mark.parametrize("env", ENVS)
def test_the_boundary_allows_only_this_environments_data_and_logs(env: str) -> None:
    template = account_stack(env)
    others = [other for other in ENVS if other != env]
    for _, statement in statements(template, "AWS::IAM::ManagedPolicy"):
        assert statement["Effect"] == "Allow"
        for action in _listed(statement["Action"]):
            assert action.split(":")[0] in {"dynamodb", "s3", "logs"}, action
            assert "*" not in action, action
        for resource in _listed(statement["Resource"]):
            assert re.search(rf"[/:]{PREFIX}-{env}-", resource), resource
            assert not any(f"-{other}-" in resource for other in others), resource


@pytest.mark.parametrize("env", ENVS)
def test_the_account_stacks_roles_are_outside_the_names_the_execution_role_manages(env: str) -> None:
    """Else the pipeline could rewrite its own roles (the deploy role was named <prefix>-<env>-github-deploy,
    inside the role pattern it could put any inline policy on)."""
    template = account_stack(env)
    own_roles = [
        f"arn:aws:iam::{LOCAL_ACCOUNT_ID}:role/{resource['Properties']['RoleName']}"
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::IAM::Role"
    ]
    for owner, statement in statements(template):
        if not any(action.lower().startswith("iam:") for action in _listed(statement["Action"])):
            continue
        for pattern in _listed(statement["Resource"]):
            if isinstance(pattern, str):
                assert not any(fnmatch.fnmatchcase(arn, pattern) for arn in own_roles), (
                    f"{owner} {statement.get('Sid')} reaches an account stack role through {pattern}"
                )
    assert len(own_roles) == 2  # the deploy role and the execution role


def _samconfig(env: str) -> dict[str, Any]:
    return config_env(env).deploy_parameters


@pytest.mark.parametrize("env", ENVS)
def test_deploys_go_through_the_execution_role_with_the_boundary(synth: Synth, env: str) -> None:
    """samconfig names the execution role (sam deploy --role-arn) and the boundary; the synthesized function
    role carries it."""
    template = account_stack(env)
    role_name = template["Resources"][execution_role(template)]["Properties"]["RoleName"]
    boundary_name = template["Resources"][boundary(template)]["Properties"]["ManagedPolicyName"]
    assert _samconfig(env)["role_arn"].endswith(f":role/{role_name}")
    function_role = synth(env)["Resources"]["ApiFunctionRole"]["Properties"]
    assert function_role["PermissionsBoundary"] == f"arn:aws:iam::{LOCAL_ACCOUNT_ID}:policy/{boundary_name}"


@pytest.mark.parametrize("env", ENVS)
def test_the_api_carries_the_tag_the_execution_role_requires(synth: Synth, env: str) -> None:
    """In the OpenAPI body, so the API has it from its first import, before any TagResource call."""
    (api,) = [r for r in synth(env)["Resources"].values() if r["Type"] == "AWS::ApiGatewayV2::Api"]
    assert {"name": "environment", "x-amazon-apigateway-tag-value": env} in api["Properties"]["Body"]["tags"]


def test_the_emulator_gets_no_boundary(synth: Synth) -> None:
    assert "role_arn" not in _samconfig("local")
    assert "PermissionsBoundary" not in synth("local")["Resources"]["ApiFunctionRole"]["Properties"]


# AWSLambdaBasicExecutionRole, attached to the function role by SAM.
_BASIC_EXECUTION = {"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"}


@pytest.mark.parametrize("env", ENVS)
def test_the_function_role_fits_inside_the_boundary(synth: Synth, env: str) -> None:
    """A grant the boundary lacks would deploy fine and fail at run time with AccessDenied."""
    template = synth(env)
    resources = template["Resources"]
    stack = f"{PREFIX}-{env}"
    table_name = resources["Table"]["Properties"]["TableName"]
    table_arn = f"arn:aws:dynamodb:{region(env)}:{LOCAL_ACCOUNT_ID}:table/{table_name}"
    bucket_arn = f"arn:aws:s3:::{stack}-uploadsbucket-1a2b3c4d5e6f"  # the suffix is CloudFormation's
    arn_of = [  # the function role's resources as created
        ({"Fn::GetAtt": ["Table", "Arn"]}, table_arn),
        ({"Fn::Sub": "${Table.Arn}/index/*"}, f"{table_arn}/index/GSI1"),
        ({"Fn::GetAtt": ["UploadsBucket", "Arn"]}, bucket_arn),
        ({"Fn::Sub": "${UploadsBucket.Arn}/*"}, f"{bucket_arn}/users/u/notes/n/files/f"),
    ]
    function_log_group = resources["FunctionLogGroup"]["Properties"]["LogGroupName"]
    needed = [
        (action, f"arn:aws:logs:{region(env)}:{LOCAL_ACCOUNT_ID}:log-group:{function_log_group}:log-stream:s")
        for action in sorted(_BASIC_EXECUTION)
    ]
    for policy in resources["ApiFunctionRole"]["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            for resource in _listed(statement["Resource"]):
                (arn,) = [arn for intrinsic, arn in arn_of if intrinsic == resource]
                needed += [(action, arn) for action in _listed(statement["Action"])]
    ceiling = [statement for _, statement in statements(account_stack(env), "AWS::IAM::ManagedPolicy")]
    for action, arn in needed:
        assert any(
            allows(statement, action)
            and any(fnmatch.fnmatchcase(arn, pattern) for pattern in _listed(statement["Resource"]))
            for statement in ceiling
        ), f"the boundary does not allow {action} on {arn}"


# What would let a role open a bucket to others, or take its guard off.
BUCKET_GUARD_WRITES = [
    "s3:PutBucketPolicy",
    "s3:DeleteBucketPolicy",
    "s3:PutBucketPublicAccessBlock",
    "s3:PutBucketAcl",
    "s3:PutBucketOwnershipControls",
    "s3:PutObjectAcl",
]


def _s3_statements(template: Template) -> Iterator[tuple[str, Statement]]:
    for owner, statement in statements(template):
        if any(str(action).lower().startswith("s3:") for action in _listed(statement["Action"])):
            yield owner, statement


@pytest.mark.parametrize("env", ENVS)
def test_no_pipeline_role_may_change_a_buckets_policy_or_public_access(env: str) -> None:
    """The dev deploy role could put a policy on the one SAM artifact bucket every environment shared,
    granting itself prod's prefix, and swap the zip prod's next change set deploys. The execution role keeps
    these rights on its environment's uploads bucket (template.yml sets its policy), never on an artifact
    bucket."""
    template = account_stack(env)
    role = deploy_role(template)
    artifacts = [f"arn:aws:s3:::{PREFIX}-{each}-artifacts-{LOCAL_ACCOUNT_ID}" for each in ENVS]
    assert f"arn:aws:s3:::{artifact_bucket(template)}" in artifacts
    for owner, statement in _s3_statements(template):
        for action in BUCKET_GUARD_WRITES:
            if not allows(statement, action):
                continue
            assert owner != role, f"the deploy role's {statement.get('Sid')} allows {action}"
            for pattern in _listed(statement["Resource"]):
                assert not any(fnmatch.fnmatchcase(bucket, pattern) for bucket in artifacts), (
                    f"{owner} {statement.get('Sid')}: {action} on an artifact bucket through {pattern}"
                )


@pytest.mark.parametrize("env", ENVS)
def test_every_s3_grant_names_only_this_environments_buckets(env: str) -> None:
    """Artifacts: this environment's own bucket, created by the account stack. Data: its uploads bucket. No
    pattern that another environment's bucket (or SAM's shared one) could match."""
    template = account_stack(env)
    own = {f"arn:aws:s3:::{artifact_bucket(template)}", f"arn:aws:s3:::{PREFIX}-{env}-uploadsbucket-*"}
    others = [
        f"arn:aws:s3:::{bucket}/{PREFIX}-{env}/key"
        for bucket in (
            *(f"{PREFIX}-{other}-artifacts-{LOCAL_ACCOUNT_ID}" for other in ENVS if other != env),
            *(f"{PREFIX}-{other}-uploadsbucket-1a2b3c" for other in ENVS if other != env),
            "aws-sam-cli-managed-default-samclisourcebucket-1a2b3c",
        )
    ]
    seen = 0
    for owner, statement in _s3_statements(template):
        for resource in _listed(statement["Resource"]):
            seen += 1
            assert isinstance(resource, str), f"{owner} {statement.get('Sid')}: unresolved {resource}"
            assert resource.removesuffix("/*") in own, f"{owner} {statement.get('Sid')}: {resource}"
            assert not any(fnmatch.fnmatchcase(arn, resource) for arn in others), resource
    assert seen


@pytest.mark.parametrize("env", ENVS)
def test_no_role_touches_sams_shared_artifacts_stack(env: str) -> None:
    """`sam deploy --resolve-s3` keeps one bucket per account in the aws-sam-cli-managed-default stack: a
    role that may run its change sets may rewrite that bucket's policy through CloudFormation."""
    for owner, statement in statements(account_stack(env)):
        for resource in _listed(statement["Resource"]):
            assert "aws-sam-cli-managed-default" not in str(resource), f"{owner} {statement.get('Sid')}"


@pytest.mark.parametrize("env", ENVS)
def test_deploys_upload_into_this_environments_bucket(env: str) -> None:
    """samconfig names the bucket the account stack creates (the account id is the one placeholder), and
    nothing on the deploy path asks SAM for its shared bucket instead."""
    parameters = _samconfig(env)
    bucket = artifact_bucket(account_stack(env))
    assert parameters["s3_bucket"] == bucket.replace(LOCAL_ACCOUNT_ID, "replace-me-account-id")
    assert "resolve_s3" not in parameters
    for path in (".github/workflows/deploy.yml", "scripts/deploy.sh", "scripts/stack.sh"):
        text = (REPO_ROOT / path).read_text()
        for option in ("--resolve-s3", "--s3-bucket"):
            assert option not in text, f"{path} passes {option}: the bucket is samconfig's s3_bucket"


# Permissions a create handler lists that only read: the first one that does not is the create call itself.
_READS = ("describe", "get", "list")


def create_action(permissions: list[str]) -> str:
    """What CloudFormation calls to create a resource: the first write its create handler lists (the others
    are tags, reads, and options the template may not use: KMS keys, a VPC, replicas)."""
    return next(action for action in permissions if not action.split(":")[1].lower().startswith(_READS))


def missing_creates(template: Template, stack: Template, permissions: dict[str, list[str]]) -> list[str]:
    """For each resource type of `template` whose create call the execution role does not allow: what to
    edit, and where."""
    role = execution_role(stack)
    (policy,) = [policy["PolicyName"] for policy in stack["Resources"][role]["Properties"]["Policies"]]
    own = [statement for owner, statement in statements(stack) if owner == role]
    problems = []
    for kind in sorted({resource["Type"] for resource in template["Resources"].values()}):
        action = create_action(permissions[kind])
        if any(allows(statement, action) for statement in own):
            continue
        service = action.split(":")[0].lower()
        near = [
            statement["Sid"]
            for statement in own
            if any(str(each).lower().startswith(f"{service}:") for each in _listed(statement["Action"]))
        ]
        where = f"statement {near[0]}" if near else "a new statement"
        problems.append(
            f"{kind}: CloudFormation creates it with {action}, which {ACCOUNT_STACK.relative_to(REPO_ROOT)} "
            f"does not allow: add it to {where} of {role} (policy {policy}), limited to this environment's "
            f"{PREFIX}-<env>-* names"
        )
    return problems


def _types(template: Template) -> set[str]:
    return {resource["Type"] for resource in template["Resources"].values()}


@pytest.mark.parametrize("env", ENVS)
def test_the_execution_role_may_create_every_resource_the_template_has(
    synth: Synth, create_permissions: CreatePermissions, env: str
) -> None:
    """After the SAM transform (the role, permissions and stage SAM adds count): a type the role cannot create
    deploys nowhere, and fails only at the first real deploy with AccessDenied."""
    template = synth(env)
    permissions = create_permissions(region(env), _types(template))
    assert missing_creates(template, account_stack(env), permissions) == []


def test_a_resource_added_to_the_template_names_the_account_stack(
    synth: Synth, create_permissions: CreatePermissions
) -> None:
    """A queue added to (a copy of) dev's template: plain CloudFormation, which the SAM transform passes
    through unchanged. The check names the type, the create call, the file and the role's policy."""
    template = copy.deepcopy(synth("dev"))
    template["Resources"]["Jobs"] = {
        "Type": "AWS::SQS::Queue",
        "Properties": {"QueueName": f"{PREFIX}-dev-jobs"},
    }
    permissions = create_permissions(region("dev"), _types(template))
    assert missing_creates(template, account_stack("dev"), permissions) == [
        "AWS::SQS::Queue: CloudFormation creates it with sqs:CreateQueue, which deploy/aws-account.yml "
        "does not allow: add it to a new statement of CloudFormationExecutionRole (policy stack-resources), "
        f"limited to this environment's {PREFIX}-<env>-* names"
    ]


def test_a_create_missing_from_a_known_service_names_its_statement(
    synth: Synth, create_permissions: CreatePermissions
) -> None:
    stack = account_stack("dev")
    for _, statement in statements(stack):
        if statement.get("Sid") == "LogGroups":
            statement["Action"].remove("logs:CreateLogGroup")
    template = synth("dev")
    (problem,) = missing_creates(template, stack, create_permissions(region("dev"), _types(template)))
    assert problem.startswith("AWS::Logs::LogGroup: CloudFormation creates it with logs:CreateLogGroup")
    assert "add it to statement LogGroups of CloudFormationExecutionRole" in problem
