"""What the gateway reads about the API from a template: template.yml's CORS as `make dev` deploys it,
and the configurations HTTP API would not accept refused, naming the property."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from devstack import config
from devstack.apigw.api_config import ApiConfig, CorsConfiguration, JwtAuthorizer
from devstack.apigw.routes import DEFAULT_ROUTE, Route
from devstack.apigw.throttle import ThrottleLimits
from devstack.stack.api import ApiConfigError, read_api
from devstack.stack.intrinsics import Evaluator
from devstack.stack.model import local_stack


def api_config(document: dict[str, Any], parameters: dict[str, Any]) -> ApiConfig:
    return read_api(Evaluator(document, parameters))


def _template(cors: Any) -> dict[str, Any]:
    properties = {} if cors is None else {"CorsConfiguration": cors}
    return {"Resources": {"Api": {"Type": "AWS::Serverless::HttpApi", "Properties": properties}}}


def test_template_yml_as_make_dev_deploys_it() -> None:
    """Its CORS, its JWT authorizer (the emulator's project, whose unsigned tokens it alone accepts), its
    routes with their authorizer and throttles, and one line for each property not emulated."""
    facts = config.load()
    issuer = f"https://securetoken.google.com/{facts.firebase.project_id}"
    docs = ("/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json")
    assert local_stack(facts).api == ApiConfig(
        routes=(
            Route("ANY /{proxy+}", authorizer="FirebaseIdToken"),
            Route("ANY /", authorizer="FirebaseIdToken"),
            Route("GET /health"),
            *(Route(f"GET {path}") for path in docs),
        ),
        throttling={  # samconfig's local env raises the API routes' limits; GET /health keeps the template's
            "ANY /{proxy+}": ThrottleLimits(rate=1000, burst=2000),
            "ANY /": ThrottleLimits(rate=1000, burst=2000),
            "GET /health": ThrottleLimits(rate=10, burst=20),
            **{f"GET {path}": ThrottleLimits(rate=1000, burst=2000) for path in docs},
        },
        authorizers={"FirebaseIdToken": JwtAuthorizer(issuer, (facts.firebase.project_id,))},
        emulator_issuer=issuer,
        unemulated=tuple(
            f"template.yml: HttpApi.{name} is not emulated by the local gateway"
            for name in ("Description", "Tags", "FailOnWarnings", "AccessLogSettings")
        ),
        cors=CorsConfiguration(
            allow_origins=("*",),
            allow_methods=("GET", "POST", "PUT", "PATCH", "DELETE"),
            allow_headers=("authorization", "content-type", "if-match", "idempotency-key"),
            expose_headers=("etag", "location", "x-request-id"),
            allow_credentials=False,
            max_age=600,
        ),
    )


def test_parameters_and_conditions_are_resolved() -> None:
    document = _template(
        {"Fn::If": ["Closed", {"AllowOrigins": {"Ref": "Origins"}}, {"AllowOrigins": ["*"]}]}
    )
    document["Conditions"] = {"Closed": {"Fn::Equals": [{"Ref": "Environment"}, "prod"]}}
    parameters = {"Environment": "prod", "Origins": ["https://app.example"]}
    cors = api_config(document, parameters).cors
    assert cors is not None
    assert cors.allow_origins == ("https://app.example",)


def test_header_names_are_lower_cased() -> None:
    cors = api_config(_template({"AllowHeaders": ["If-Match"], "ExposeHeaders": ["ETag"]}), {}).cors
    assert cors is not None
    assert (cors.allow_headers, cors.expose_headers) == (("if-match",), ("etag",))


def test_no_cors_configuration() -> None:
    assert api_config(_template(None), {}).cors is None


def _with_events(api: dict[str, Any], **events: dict[str, Any]) -> dict[str, Any]:
    """A template with HttpApi `Api` (properties `api`) and a function with these HttpApi events on it."""
    function = {
        "Type": "AWS::Serverless::Function",
        "Properties": {
            "Events": {
                name: {"Type": "HttpApi", "Properties": {"ApiId": {"Ref": "Api"}, **props}}
                for name, props in events.items()
            }
        },
    }
    api_resource = {"Type": "AWS::Serverless::HttpApi", "Properties": api}
    return {"Resources": {"Api": api_resource, "Fn": function}}


def test_an_event_without_path_and_method_is_the_default_route() -> None:
    document = _with_events({}, Catch={}, Notes={"Path": "/notes/{id}", "Method": "get"})
    assert api_config(document, {}).routes == (DEFAULT_ROUTE, Route("GET /notes/{id}"))


def test_an_api_without_route_events_has_no_routes() -> None:
    assert api_config(_template(None), {}).routes == ()


def test_throttling_falls_back_field_by_field() -> None:
    """A route's own settings, else DefaultRouteSettings, else the account's limit; none: not throttled."""
    document = _with_events(
        {
            "DefaultRouteSettings": {"ThrottlingRateLimit": {"Ref": "Rate"}},
            "RouteSettings": {"GET /a": {"ThrottlingBurstLimit": 3}},
        },
        A={"Path": "/a", "Method": "GET"},
        B={
            "Path": "/b",
            "Method": "GET",
            "RouteSettings": {"ThrottlingRateLimit": 2, "ThrottlingBurstLimit": 4},
        },
        C={"Path": "/c", "Method": "GET"},
    )
    assert api_config(document, {"Rate": "7"}).throttling == {
        "GET /a": ThrottleLimits(rate=7, burst=3),
        "GET /b": ThrottleLimits(rate=2, burst=4),
        "GET /c": ThrottleLimits(rate=7, burst=5000),
    }
    without_defaults = _with_events({}, A={"Path": "/a", "Method": "GET"})
    assert api_config(without_defaults, {}).throttling == {}


def test_every_property_not_emulated_is_listed() -> None:
    document = _with_events(
        {
            "StageName": "prod",
            "DisableExecuteApiEndpoint": True,
            "DefaultRouteSettings": {"ThrottlingRateLimit": 1, "DetailedMetricsEnabled": True},
        },
        A={"Path": "/a", "Method": "GET", "TimeoutInMillis": 5000},
    )
    document["Resources"]["Fn"]["Properties"]["Events"]["Implicit"] = {
        "Type": "HttpApi",
        "Properties": {"Path": "/x", "Method": "GET"},
    }
    config = api_config(document, {})
    assert sorted(config.unemulated) == sorted(
        f"{name} is not emulated by the local gateway"
        for name in (
            "HttpApi.StageName",
            "HttpApi.DisableExecuteApiEndpoint",
            "HttpApi.DefaultRouteSettings.DetailedMetricsEnabled",
            "Fn.Events.Implicit (on an API other than Api)",
        )
    )
    assert config.routes == (Route("GET /a", timeout_s=5.0),)


@pytest.mark.parametrize(
    ("event", "api", "named"),
    [
        ({"PayloadFormatVersion": "1.0"}, {}, "only payload format 2.0"),
        ({"TimeoutInMillis": 30001}, {}, "TimeoutInMillis must be 50..30000"),
        ({"Path": "notes"}, {}, "is not `$default` or `METHOD /path`"),
        ({}, {"RouteSettings": {"GET /other": {"ThrottlingRateLimit": 1}}}, "not a route of the API"),
        ({}, {"DefaultRouteSettings": {"ThrottlingBurstLimit": 1.5}}, "ThrottlingBurstLimit must be a whole"),
        ({}, {"DefaultRouteSettings": {"ThrottlingRateLimit": {"Ref": "Unset"}}}, "does not resolve"),
    ],
)
def test_routes_and_throttles_that_cannot_be_honoured_are_refused(
    event: dict[str, Any], api: dict[str, Any], named: str
) -> None:
    document = _with_events(api, A={"Path": "/a", "Method": "GET", **event})
    with pytest.raises(ApiConfigError, match=re.escape(named)):
        api_config(document, {})


def test_a_route_declared_twice_is_refused() -> None:
    same = {"Path": "/a", "Method": "GET"}
    with pytest.raises(ApiConfigError, match="declared twice"):
        api_config(_with_events({}, A=same, B=same), {})


@pytest.mark.parametrize(
    ("cors", "named"),
    [
        ({"AllowOrigins": ["*"], "AllowCredentials": True}, "AllowCredentials true is not allowed"),
        ({"AllowOrigins": {"Ref": "Unset"}}, "AllowOrigins must resolve"),
        ({"Ref": "Unset"}, "does not resolve without a deployed stack"),
        ({"AllowOrigin": ["*"]}, "AllowOrigin"),
        (True, "must resolve to a mapping"),
        ({"MaxAge": "ten"}, "MaxAge"),
    ],
)
def test_what_cannot_be_honoured_is_refused(cors: Any, named: str) -> None:
    with pytest.raises(ApiConfigError, match=named):
        api_config(_template(cors), {})


def test_the_refusal_names_the_template(tmp_path: Path) -> None:
    template = tmp_path / "template.yml"
    template.write_text(
        "Resources:\n  Api:\n    Type: AWS::Serverless::HttpApi\n    Properties:\n"
        "      CorsConfiguration: {AllowOrigins: ['*'], AllowCredentials: true}\n"
    )
    with pytest.raises(ApiConfigError, match=str(template)):
        local_stack(config.load(), template_path=template)


JWT = {"JwtConfiguration": {"issuer": "https://issuer.example", "audience": ["aud"]}}


def test_routes_get_the_default_authorizer_none_or_their_own_with_scopes() -> None:
    document = _with_events(
        {
            "Auth": {
                "DefaultAuthorizer": "Jwt",
                "Authorizers": {"Jwt": JWT, "Scoped": {**JWT, "AuthorizationScopes": ["read"]}},
            }
        },
        Default={"Path": "/a", "Method": "GET"},
        Public={"Path": "/b", "Method": "GET", "Auth": {"Authorizer": "NONE"}},
        Scoped={"Path": "/c", "Method": "GET", "Auth": {"Authorizer": "Scoped"}},
        Own={"Path": "/d", "Method": "GET", "Auth": {"Authorizer": "Jwt", "AuthorizationScopes": ["write"]}},
    )
    config = api_config(document, {})
    assert config.routes == (
        Route("GET /a", authorizer="Jwt"),
        Route("GET /b"),
        Route("GET /c", authorizer="Scoped", scopes=("read",)),
        Route("GET /d", authorizer="Jwt", scopes=("write",)),
    )
    assert config.authorizers["Jwt"] == JwtAuthorizer("https://issuer.example", ("aud",))
    assert config.emulator_issuer is None  # only stack.model.local_stack sets one


@pytest.mark.parametrize(
    ("auth", "event_auth", "named"),
    [
        (
            {"Authorizers": {"L": {"FunctionArn": "arn:aws:lambda:::function:f"}}},
            None,
            "only JWT authorizers",
        ),
        ({"EnableIamAuthorizer": True}, None, "only JWT authorizers are emulated"),
        (
            {"Authorizers": {"J": {**JWT, "IdentitySource": "$request.querystring.t"}}},
            None,
            "only a request header",
        ),
        ({"Authorizers": {"J": JWT}, "DefaultAuthorizer": "K"}, None, "DefaultAuthorizer 'K'"),
        ({"Authorizers": {"J": JWT}}, {"Authorizer": "NONE"}, "NONE needs a DefaultAuthorizer"),
        ({"Authorizers": {"J": JWT}}, {"Authorizer": "K"}, "Authorizer 'K' is not one"),
        ({"Authorizers": {"J": {"JwtConfiguration": {"audience": ["a"]}}}}, None, "issuer must resolve"),
    ],
)
def test_an_authorizer_that_cannot_be_applied_stops_the_start(
    auth: dict[str, Any], event_auth: dict[str, Any] | None, named: str
) -> None:
    """Skipping it would let through what API Gateway refuses."""
    event = {"Path": "/a", "Method": "GET", **({"Auth": event_auth} if event_auth else {})}
    with pytest.raises(ApiConfigError, match=re.escape(named)):
        api_config(_with_events({"Auth": auth}, A=event), {})
