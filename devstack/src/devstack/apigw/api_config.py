"""What the template says about the HTTP API, as the local gateway applies it.

Read from the template's one `AWS::Serverless::HttpApi` through devstack's template reader, with the
parameters `make dev` deploys with (devstack.deploy.local_parameters). Only the CORS configuration so far;
anything here that cannot be resolved to plain values is refused, naming the property, rather than guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devstack import config, paths, template
from devstack.deploy import CONFIG_ENV, local_parameters
from devstack.supervision import StartupError

HTTP_API_TYPE = "AWS::Serverless::HttpApi"


class ApiConfigError(StartupError):
    """The template declares something about the API the local gateway cannot honour exactly."""


@dataclass(frozen=True)
class CorsConfiguration:
    """An HttpApi's `CorsConfiguration` (AWS::ApiGatewayV2::Api Cors). Header names are lower-cased
    (HTTP header names are case-insensitive); methods and origins are kept as written."""

    allow_origins: tuple[str, ...] = ()
    allow_methods: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    allow_credentials: bool = False
    max_age: int | None = None


@dataclass(frozen=True)
class ApiConfig:
    """The HTTP API the gateway plays. The default is an API with nothing configured (no CORS)."""

    cors: CorsConfiguration | None = None


_CORS_LISTS = {
    "AllowOrigins": "allow_origins",
    "AllowMethods": "allow_methods",
    "AllowHeaders": "allow_headers",
    "ExposeHeaders": "expose_headers",
}


def _is_intrinsic(node: Any) -> bool:
    """What the template reader leaves unevaluated: {"Ref": ...} or {"Fn::...": ...}."""
    return isinstance(node, dict) and len(node) == 1 and any(k == "Ref" or k.startswith("Fn::") for k in node)


def _string_list(name: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ApiConfigError(f"CorsConfiguration.{name} must resolve to a list of strings, got {value!r}")
    return tuple(value)


def cors_configuration(node: Any) -> CorsConfiguration:
    """A resolved `CorsConfiguration` mapping -> CorsConfiguration, refusing what HTTP API refuses."""
    if _is_intrinsic(node):
        raise ApiConfigError(f"CorsConfiguration does not resolve without a deployed stack: {node!r}")
    if not isinstance(node, dict):
        # SAM also takes `CorsConfiguration: true`; its meaning is not reproduced here, so it is refused.
        raise ApiConfigError(f"CorsConfiguration must resolve to a mapping, got {node!r}")
    unknown = set(node) - {*_CORS_LISTS, "AllowCredentials", "MaxAge"}
    if unknown:
        raise ApiConfigError(f"CorsConfiguration has properties HTTP API does not know: {sorted(unknown)}")
    lists = {field: _string_list(key, node[key]) for key, field in _CORS_LISTS.items() if key in node}
    lists["allow_headers"] = tuple(name.lower() for name in lists.get("allow_headers", ()))
    lists["expose_headers"] = tuple(name.lower() for name in lists.get("expose_headers", ()))
    credentials = node.get("AllowCredentials", False)
    if not isinstance(credentials, bool):
        raise ApiConfigError(f"CorsConfiguration.AllowCredentials must be true or false, got {credentials!r}")
    max_age = node.get("MaxAge")
    if max_age is not None and (isinstance(max_age, bool) or not str(max_age).lstrip("-").isdigit()):
        raise ApiConfigError(f"CorsConfiguration.MaxAge must be a number of seconds, got {max_age!r}")
    cors = CorsConfiguration(
        allow_credentials=credentials, max_age=None if max_age is None else int(max_age), **lists
    )
    if cors.allow_credentials and "*" in cors.allow_origins:
        # API Gateway rejects this configuration when it is deployed; so does the local gateway.
        raise ApiConfigError("CorsConfiguration: AllowCredentials true is not allowed with a '*' origin")
    return cors


def api_config(document: dict[str, Any], parameters: Mapping[str, Any]) -> ApiConfig:
    """The API of a loaded template, its intrinsics evaluated for `parameters`."""
    _, properties = template.resource_of_type(document, HTTP_API_TYPE)
    evaluated = template.Evaluator(document, parameters).value(properties)
    cors = evaluated.get("CorsConfiguration")
    return ApiConfig(cors=None if cors is None else cors_configuration(cors))


def local_api_config(facts: config.LocalFacts, template_path: Path = paths.TEMPLATE) -> ApiConfig:
    """The API as `make dev` deploys it: samconfig.toml's local parameters, the emulator's region."""
    document = template.load(template_path)
    parameters = template.parameter_values(
        document, local_parameters(facts), template.stack_name(CONFIG_ENV), facts.aws.region
    )
    try:
        return api_config(document, parameters)
    except (ApiConfigError, ValueError) as error:  # ValueError: from the template's evaluation
        raise ApiConfigError(f"{template_path}: {error}") from error
