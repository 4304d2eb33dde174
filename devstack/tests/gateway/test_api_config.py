"""What the gateway reads about the API from a template: template.yml's CORS as `make dev` deploys it,
and the configurations HTTP API would not accept refused, naming the property."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from devstack import config
from devstack.apigw.api_config import (
    ApiConfig,
    ApiConfigError,
    CorsConfiguration,
    api_config,
    local_api_config,
)


def _template(cors: Any) -> dict[str, Any]:
    properties = {} if cors is None else {"CorsConfiguration": cors}
    return {"Resources": {"Api": {"Type": "AWS::Serverless::HttpApi", "Properties": properties}}}


def test_template_yml_cors_as_make_dev_deploys_it() -> None:
    assert local_api_config(config.load()) == ApiConfig(
        cors=CorsConfiguration(
            allow_origins=("*",),
            allow_methods=("GET", "POST", "PUT", "PATCH", "DELETE"),
            allow_headers=("authorization", "content-type", "if-match", "idempotency-key"),
            expose_headers=("etag", "location", "x-request-id"),
            allow_credentials=False,
            max_age=600,
        )
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
    assert api_config(_template(None), {}) == ApiConfig(cors=None)


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
        local_api_config(config.load(), template)
