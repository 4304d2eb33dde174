"""Properties of the synthesized template per environment (offline, ~3 s per environment)."""

from __future__ import annotations

import ast
import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from devstack import config
from devstack.paths import REPO_ROOT
from devstack.stack.samconfig import config_env
from devstack.stack.template import load
from infrastructure.dynamodb_items import EXPIRES_AT
from infrastructure.outbound import WORST_CASE_CALL_S
from tests.support.fakes import make_settings
from tests.support.routes import PUBLIC_PATHS
from web import build_app

Template = dict[str, Any]
Synth = Callable[..., Template]
ENVS = ["dev", "staging", "prod", "local"]


def resources_of(template: Template, resource_type: str) -> dict[str, Any]:
    return {key: value for key, value in template["Resources"].items() if value["Type"] == resource_type}


def one(template: Template, resource_type: str) -> dict[str, Any]:
    found = resources_of(template, resource_type)
    assert len(found) == 1, f"expected one {resource_type}, got {list(found)}"
    return next(iter(found.values()))


def layer_version() -> str:
    """The adapter layer the local chain's Web Adapter version corresponds to (devstack/devstack.env)."""
    return config.load().chain["LWA_LAYER_VERSION"]


def region(env: str) -> str:
    return config_env(env).region or config.load().aws.region


def test_adapter_layer_default_matches_the_local_adapter() -> None:
    default = load()["Parameters"]["WebAdapterLayerVersion"]["Default"]
    assert str(default) == layer_version(), (
        "template.yml WebAdapterLayerVersion default and devstack/devstack.env LWA_LAYER_VERSION differ: "
        "bump them together (the layer must carry the adapter version the local chain runs)"
    )


@pytest.mark.parametrize("env", ENVS)
def test_function_runs_under_the_web_adapter(synth: Synth, env: str) -> None:
    template = synth(env)
    function = template["Resources"]["ApiFunction"]
    assert function["Type"] == "AWS::Lambda::Function"
    props = function["Properties"]
    assert props["Runtime"] == "python3.13"
    assert props["Handler"] == "run.sh"
    assert props["Architectures"] == ["x86_64"]
    assert (props["Timeout"], props["MemorySize"]) == (30, 512)
    assert props["Layers"] == [
        f"arn:aws:lambda:{region(env)}:753240598075:layer:LambdaAdapterLayerX86:{layer_version()}"
    ]
    variables = props["Environment"]["Variables"]
    assert variables["AWS_LAMBDA_EXEC_WRAPPER"] == "/opt/bootstrap"
    assert variables["PORT"] == "8000"
    assert variables["AWS_LWA_READINESS_CHECK_PATH"] == "/health"
    assert variables["DYNAMODB_TABLE"] == {"Ref": "Table"}
    assert variables["S3_BUCKET"] == {"Ref": "UploadsBucket"}
    assert not variables["FIREBASE_PROJECT_ID"].endswith("-firebase-project")
    assert props["LoggingConfig"]["LogGroup"] == {"Ref": "FunctionLogGroup"}
    log_group = template["Resources"]["FunctionLogGroup"]["Properties"]
    # The log group is the one Lambda writes to: /aws/lambda/<function name>.
    assert log_group["LogGroupName"] == f"/aws/lambda/{config_env(env).stack_name}-api"
    assert props["FunctionName"] == f"{config_env(env).stack_name}-api"
    assert isinstance(log_group["RetentionInDays"], int | str)


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_a_hung_dependency_costs_less_than_the_function_timeout(synth: Synth, env: str) -> None:
    """One outbound call that never answers gives up within the app's budget (infrastructure/outbound.py,
    plus under 1 s of botocore backoff), so the app answers 503 before Lambda cuts the request off."""
    timeout = synth(env)["Resources"]["ApiFunction"]["Properties"]["Timeout"]
    assert timeout > WORST_CASE_CALL_S + 1


@pytest.mark.parametrize("env", ENVS)
def test_the_function_logs_at_info_everywhere(synth: Synth, env: str) -> None:
    """DEBUG would add nothing of the app's, only the libraries' request dumps (the app also keeps those
    below INFO, shared/logging.py)."""
    variables = synth(env)["Resources"]["ApiFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["LOG_LEVEL"] == "INFO"


@pytest.mark.parametrize("env", ["prod"])
def test_prod_keeps_its_data(synth: Synth, env: str) -> None:
    template = synth(env)
    table = template["Resources"]["Table"]
    bucket = template["Resources"]["UploadsBucket"]
    for resource in (table, bucket):
        assert resource["DeletionPolicy"] == "Retain"
        assert resource["UpdateReplacePolicy"] == "Retain"
    assert table["Properties"]["DeletionProtectionEnabled"] is True
    assert table["Properties"]["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["Properties"]["SSESpecification"] == {"SSEEnabled": True}


@pytest.mark.parametrize("env", ["dev", "staging", "local"])
def test_other_environments_can_be_torn_down(synth: Synth, env: str) -> None:
    template = synth(env)
    for name in ("Table", "UploadsBucket"):
        assert template["Resources"][name]["DeletionPolicy"] == "Delete"
    assert template["Resources"]["Table"]["Properties"]["DeletionProtectionEnabled"] is False


def _api_cors(template: Template) -> dict[str, Any]:
    api = one(template, "AWS::ApiGatewayV2::Api")
    cors: dict[str, Any] = api["Properties"]["Body"]["x-amazon-apigateway-cors"]
    return cors


def _bucket_cors(template: Template) -> dict[str, Any]:
    rules = template["Resources"]["UploadsBucket"]["Properties"]["CorsConfiguration"]["CorsRules"]
    assert len(rules) == 1
    rule: dict[str, Any] = rules[0]
    return rule


@pytest.mark.parametrize("env", ENVS)
def test_cors_is_open_only_outside_prod(synth: Synth, env: str) -> None:
    template = synth(env)
    cors = _api_cors(template)
    # The whole configuration survives the SAM transform (an intrinsic in AllowOrigins alone would not).
    assert {"allowOrigins", "allowMethods", "allowHeaders", "exposeHeaders", "maxAge"} <= set(cors)
    assert cors["allowCredentials"] is False
    bucket_origins = _bucket_cors(template)["AllowedOrigins"]
    if env == "prod":
        assert "*" not in cors["allowOrigins"]
        assert cors["allowOrigins"] == bucket_origins
    else:
        assert cors["allowOrigins"] == bucket_origins == ["*"]


# What browser code sends and reads (docs/auth.md, the notes routes): a bearer token, JSON, If-Match with
# the ETag it read, an idempotency key; the ETag, the Location of a new note, the request id.
CORS_REQUEST_HEADERS = {"authorization", "content-type", "if-match", "idempotency-key"}
CORS_RESPONSE_HEADERS = {"etag", "location", "x-request-id"}


def _routed_methods() -> set[str]:
    """The methods the app's routes answer (as deployed: prod, no docs)."""
    routes = iter_route_contexts(build_app(make_settings(environment="prod")).routes)
    return {method for route in routes for method in route.methods or ()}


@pytest.mark.parametrize("env", ENVS)
def test_browsers_can_send_if_match_and_read_the_etag(synth: Synth, env: str) -> None:
    """With CORS configured, the HTTP API answers preflights itself and drops the function's CORS headers:
    what the template lists is all a browser may send and read."""
    cors = _api_cors(synth(env))
    assert {header.lower() for header in cors["allowHeaders"]} == CORS_REQUEST_HEADERS
    assert {header.lower() for header in cors["exposeHeaders"]} == CORS_RESPONSE_HEADERS
    assert set(cors["allowMethods"]) == _routed_methods()
    assert 0 < cors["maxAge"] <= 7200  # browsers cap the preflight cache (Chromium: 2 h)


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_the_bucket_takes_the_same_origins_and_preflight_cache(synth: Synth, env: str) -> None:
    template = synth(env)
    api, bucket = _api_cors(template), _bucket_cors(template)
    assert bucket["AllowedOrigins"] == api["allowOrigins"]
    assert bucket["MaxAge"] == api["maxAge"]
    assert bucket["ExposedHeaders"] == ["ETag"]


def test_locally_the_app_answers_cors_as_the_http_api_does(synth: Synth) -> None:
    """Locally nothing stands in front of the app: it plays the HTTP API's part, with dev's configuration."""
    cors = _api_cors(synth("dev"))
    with TestClient(build_app(make_settings(environment="local"))) as client:
        preflight = client.options(
            "/notes/01J00000000000000000000000",
            headers={
                "Origin": "https://app.example",
                "Access-Control-Request-Method": "PATCH",
                "Access-Control-Request-Headers": ", ".join(sorted(CORS_REQUEST_HEADERS)),
            },
        )
        simple = client.get("/health", headers={"Origin": "https://app.example"})
    assert preflight.status_code == 200
    assert set(preflight.headers["access-control-allow-methods"].split(", ")) == set(cors["allowMethods"])
    # Starlette also lists the CORS-safelisted headers, which browsers send without asking anyway.
    safelisted = {"accept", "accept-language", "content-language", "content-type"}
    allowed = {h.lower() for h in preflight.headers["access-control-allow-headers"].split(", ")}
    assert allowed - safelisted == {h.lower() for h in cors["allowHeaders"]} - safelisted
    assert preflight.headers["access-control-max-age"] == str(cors["maxAge"])
    assert simple.headers["access-control-allow-origin"] == "*" == cors["allowOrigins"][0]
    assert {h.lower() for h in simple.headers["access-control-expose-headers"].split(", ")} == {
        h.lower() for h in cors["exposeHeaders"]
    }


def test_prod_refuses_a_wildcard_origin() -> None:
    rule = load()["Rules"]["ProdCorsIsClosed"]
    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "Environment"}, "prod"]}
    assert rule["Assertions"][0]["Assert"] == {
        "Fn::Not": [{"Fn::Contains": [{"Ref": "CorsAllowedOrigins"}, "*"]}]
    }


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_http_api_routes_throttling_and_access_logs(synth: Synth, env: str) -> None:
    template = synth(env)
    paths = one(template, "AWS::ApiGatewayV2::Api")["Properties"]["Body"]["paths"]
    routes = {(path, method) for path, methods in paths.items() for method in methods}
    assert routes == {
        ("/", "x-amazon-apigateway-any-method"),
        ("/{proxy+}", "x-amazon-apigateway-any-method"),
        ("/health", "get"),
        *((path, "get") for path in PUBLIC_PATHS - {"/health"}),
    }
    for path, method in routes:
        integration = paths[path][method]["x-amazon-apigateway-integration"]
        assert integration["payloadFormatVersion"] == "2.0"
        assert "${ApiFunction.Arn}" in integration["uri"]["Fn::Sub"]
    stage = one(template, "AWS::ApiGatewayV2::Stage")["Properties"]
    assert stage["StageName"] == "$default"
    assert stage["DefaultRouteSettings"]["ThrottlingRateLimit"] > 0
    assert stage["DefaultRouteSettings"]["ThrottlingBurstLimit"] > 0
    assert stage["AccessLogSettings"]["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    assert template["Outputs"]["ApiUrl"]["Value"] == {
        "Fn::Sub": f"https://${{HttpApi}}.execute-api.{region(env)}.amazonaws.com"
    }
    assert set(template["Outputs"]) >= {"ApiUrl", "TableName", "BucketName", "FunctionName"}


def _function_grants(template: Template) -> dict[str, set[str]]:
    """The function role's inline grants: resource (as JSON) -> the actions allowed on it."""
    role = template["Resources"]["ApiFunctionRole"]["Properties"]
    grants: dict[str, set[str]] = {}
    for policy in role["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow"
            resources = (
                statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            )
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            for resource in resources:
                grants.setdefault(json.dumps(resource, sort_keys=True), set()).update(actions)
    return grants


def _grants_on(template: Template, resource: Any) -> set[str]:
    return _function_grants(template).get(json.dumps(resource, sort_keys=True), set())


TABLE = {"Fn::GetAtt": ["Table", "Arn"]}
TABLE_INDEXES = {"Fn::Sub": "${Table.Arn}/index/*"}
BUCKET = {"Fn::GetAtt": ["UploadsBucket", "Arn"]}
BUCKET_OBJECTS = {"Fn::Sub": "${UploadsBucket.Arn}/*"}


def firebase_project(env: str) -> str:
    """The Firebase project an environment deploys with (the local one: the Auth emulator's)."""
    return (
        config.load().firebase.project_id
        if env == "local"
        else config_env(env).parameter_overrides["FirebaseProjectId"]
    )


@pytest.mark.parametrize("env", ENVS)
def test_every_route_but_the_apps_public_ones_needs_a_firebase_token_of_its_project(
    synth: Synth, env: str
) -> None:
    """The HTTP API's JWT authorizer: the environment's Firebase project as issuer and audience, the default
    of every route; `Authorizer: NONE` exactly on the paths the app serves without a token
    (tests/support/routes.py)."""
    body = one(synth(env), "AWS::ApiGatewayV2::Api")["Properties"]["Body"]
    project = firebase_project(env)
    assert body["components"]["securitySchemes"] == {
        "FirebaseIdToken": {
            "type": "oauth2",
            "x-amazon-apigateway-authorizer": {
                "type": "jwt",
                "identitySource": "$request.header.Authorization",
                "jwtConfiguration": {
                    "issuer": f"https://securetoken.google.com/{project}",
                    "audience": [project],
                },
            },
        }
    }
    security = {
        path: method["security"] for path, methods in body["paths"].items() for method in methods.values()
    }
    assert {path for path, guard in security.items() if guard == [{"NONE": []}]} == PUBLIC_PATHS
    assert {path for path, guard in security.items() if guard == [{"FirebaseIdToken": []}]} == {
        "/",
        "/{proxy+}",
    }


@pytest.mark.parametrize("env", ENVS)
def test_the_docs_routes_refuse_everything_in_prod(synth: Synth, env: str) -> None:
    """Public for the docs outside prod; in prod, where the app serves none, throttled to 0: refused at the
    edge without a token and without invoking the function (SAM cannot make the routes conditional)."""
    settings = one(synth(env), "AWS::ApiGatewayV2::Stage")["Properties"]["RouteSettings"]
    for path in PUBLIC_PATHS - {"/health"}:
        limits = settings[f"GET {path}"]
        closed = (limits["ThrottlingRateLimit"], limits["ThrottlingBurstLimit"]) == (0, 0)
        assert closed == (env == "prod"), (path, limits)


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_public_health_checks_have_a_throttle_of_their_own(synth: Synth, env: str) -> None:
    """GET /health needs no token: its own route and a lower limit keep a flood of it from using up the
    limit every other route (ANY /{proxy+}) serves real users from."""
    stage = one(synth(env), "AWS::ApiGatewayV2::Stage")["Properties"]
    default, health = stage["DefaultRouteSettings"], stage["RouteSettings"]["GET /health"]
    assert 0 < health["ThrottlingRateLimit"] < default["ThrottlingRateLimit"]
    assert 0 < health["ThrottlingBurstLimit"] < default["ThrottlingBurstLimit"]


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_function_role_reaches_only_its_table_index_and_bucket(synth: Synth, env: str) -> None:
    template = synth(env)
    role = template["Resources"]["ApiFunctionRole"]["Properties"]
    assert role["ManagedPolicyArns"] == ["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]
    grants = _function_grants(template)
    assert set(grants) <= {
        json.dumps(resource, sort_keys=True) for resource in (TABLE, TABLE_INDEXES, BUCKET, BUCKET_OBJECTS)
    }
    actions = set().union(*grants.values())
    assert all("*" not in action and action.split(":")[0] in {"dynamodb", "s3"} for action in actions)
    assert not {"dynamodb:DeleteTable", "s3:DeleteBucket", "dynamodb:Scan"} & actions


# boto3's DynamoDB operations -> the IAM action each needs; a transaction needs one per kind of item in it.
_DYNAMODB_OPERATIONS = {
    "get_item": "dynamodb:GetItem",
    "batch_get_item": "dynamodb:BatchGetItem",
    "query": "dynamodb:Query",
    "scan": "dynamodb:Scan",
    "put_item": "dynamodb:PutItem",
    "update_item": "dynamodb:UpdateItem",
    "delete_item": "dynamodb:DeleteItem",
    "batch_write_item": "dynamodb:BatchWriteItem",
}
_TRANSACTION_ITEMS = {
    "Get": "dynamodb:GetItem",
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}


def _dynamodb_actions_the_code_needs() -> set[str]:
    """Read off backend/infrastructure/dynamodb*.py: the client calls, and the kinds of transaction items."""
    needed: set[str] = set()
    for path in (REPO_ROOT / "backend" / "infrastructure").glob("dynamodb*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in _DYNAMODB_OPERATIONS:
                needed.add(_DYNAMODB_OPERATIONS[node.attr])
            if isinstance(node, ast.Dict):
                keys = [key.value for key in node.keys if isinstance(key, ast.Constant)]
                needed.update(_TRANSACTION_ITEMS[key] for key in keys if key in _TRANSACTION_ITEMS)
    return needed


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_the_function_gets_the_dynamodb_actions_its_code_calls_and_no_more(synth: Synth, env: str) -> None:
    template = synth(env)
    needed = _dynamodb_actions_the_code_needs()
    assert "dynamodb:Query" in needed  # not vacuous: the reader found the calls
    assert _grants_on(template, TABLE) == needed
    assert _grants_on(template, TABLE_INDEXES) == {"dynamodb:Query"}  # the user directory (GSI1)


@pytest.mark.parametrize("env", ENVS)
def test_bucket_versioning_is_on_in_prod_only(synth: Synth, env: str) -> None:
    """Versioning keeps what a delete without a version id would lose (a console slip, a stray tool); it
    pays off in prod only. Noncurrent versions expire everywhere, for buckets versioned before this rule."""
    props = synth(env)["Resources"]["UploadsBucket"]["Properties"]
    if env == "prod":
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    else:
        assert "VersioningConfiguration" not in props
    rules = {rule["Id"]: rule for rule in props["LifecycleConfiguration"]["Rules"]}
    expiry = rules["expire-noncurrent-versions"]
    assert expiry["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30
    assert expiry["ExpiredObjectDeleteMarker"] is True  # the markers left once their versions expired


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_the_function_can_erase_every_version_of_its_objects(synth: Synth, env: str) -> None:
    """Deleting a user's files must leave no version behind: list the versions under the user's prefix,
    delete each by version id. Without these two actions a delete only added a delete marker."""
    template = synth(env)
    assert _grants_on(template, BUCKET_OBJECTS) == {
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:DeleteObjectVersion",
    }
    assert _grants_on(template, BUCKET) == {
        "s3:ListBucket",
        "s3:ListBucketVersions",
    }


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_bucket_is_private_encrypted_and_tls_only(synth: Synth, env: str) -> None:
    template = synth(env)
    props = template["Resources"]["UploadsBucket"]["Properties"]
    assert all(props["PublicAccessBlockConfiguration"].values())
    assert props["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    sse = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert sse["SSEAlgorithm"] in {"AES256", "aws:kms"}
    rules = {rule["Id"]: rule for rule in props["LifecycleConfiguration"]["Rules"]}
    assert (
        rules["abort-incomplete-multipart-uploads"]["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"]
        >= 1
    )
    cors_methods = props["CorsConfiguration"]["CorsRules"][0]["AllowedMethods"]
    assert set(cors_methods) == {"GET", "PUT", "POST"}
    policy = one(template, "AWS::S3::BucketPolicy")["Properties"]["PolicyDocument"]["Statement"]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in policy
    )


def test_table_keys_match_the_single_table_design(synth: Synth) -> None:
    table = synth("dev")["Resources"]["Table"]["Properties"]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    (gsi,) = table["GlobalSecondaryIndexes"]
    assert gsi["IndexName"] == "GSI1"
    assert gsi["KeySchema"] == [
        {"AttributeName": "sk", "KeyType": "HASH"},
        {"AttributeName": "pk", "KeyType": "RANGE"},
    ]
    assert gsi["Projection"] == {"ProjectionType": "ALL"}


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_idempotency_records_expire_by_the_attribute_the_code_writes(synth: Synth, env: str) -> None:
    """Without TTL on that attribute every Idempotency-Key record, and the answer it stores, stays forever."""
    table = synth(env)["Resources"]["Table"]["Properties"]
    assert table["TimeToLiveSpecification"] == {"AttributeName": EXPIRES_AT, "Enabled": True}
