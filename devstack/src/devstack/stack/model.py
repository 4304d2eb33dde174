"""template.yml for one config env of samconfig.toml, evaluated once — like SAM CLI's invoke context and its
providers: built at the top (`make dev`, compose's deploy, the tests, bench) and handed down. The gateway gets
its `api`, the execution environments their function's config; after a deploy, `deployed()` resolves what
only the stack knows (a resource's Ref is its physical id), so no variable is mapped by hand."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from devstack import config, paths
from devstack.apigw.api_config import ApiConfig
from devstack.stack.api import ApiConfigError, read_api
from devstack.stack.function import FUNCTION_TYPE, FunctionConfig, read_function
from devstack.stack.intrinsics import Evaluator, parameter_values
from devstack.stack.samconfig import LOCAL, ConfigEnv, config_env
from devstack.stack.template import load
from devstack.supervision import StartupError


@dataclass(frozen=True)
class Stack:
    config_env: ConfigEnv
    template_path: Path
    document: Mapping[str, Any]
    """The template as read (intrinsics unevaluated): `deployed` evaluates it again, without reading it."""
    region: str
    parameters: Mapping[str, Any]
    """Every parameter's value (defaults, samconfig's overrides, the caller's), the pseudo parameters, and
    once deployed each resource's physical id under its logical id (what its Ref gives)."""
    resources: Mapping[str, str]
    """Logical id -> resource type, as written (before the SAM transform)."""
    functions: Mapping[str, FunctionConfig]
    api: ApiConfig
    parameter_overrides: Mapping[str, str]
    """What `sam deploy --parameter-overrides` gets: samconfig's, then the caller's."""
    outputs: Mapping[str, str] = field(default_factory=dict)
    """The deployed stack's outputs (empty until `deployed`)."""

    @property
    def name(self) -> str:
        return self.config_env.stack_name

    def function(self, logical_id: str) -> FunctionConfig:
        try:
            return self.functions[logical_id]
        except KeyError:
            raise StartupError(
                f"{self.template_path.name} declares no function {logical_id!r} "
                f"(it declares {', '.join(self.functions) or 'none'})"
            ) from None

    def deployed(self, physical_ids: Mapping[str, str], outputs: Mapping[str, str]) -> Stack:
        """The same stack once deployed: Refs to its resources resolve to their physical ids."""
        parameters = {**self.parameters, **physical_ids}
        evaluator = Evaluator(dict(self.document), parameters)
        functions = {logical_id: read_function(evaluator, logical_id) for logical_id in self.functions}
        return replace(self, parameters=parameters, functions=functions, outputs=dict(outputs))


def read_stack(
    name: str,
    *,
    region: str,
    overrides: Mapping[str, str] | None = None,
    template_path: Path = paths.TEMPLATE,
    samconfig_path: Path = paths.SAMCONFIG,
) -> Stack:
    """Config env `name` of `samconfig_path` applied to `template_path`, parameters from samconfig then
    `overrides`; `region` where the config env names none (the local one)."""
    env = config_env(name, samconfig_path)
    document = load(template_path)
    region = env.region or region
    given = {**env.parameter_overrides, **(overrides or {})}
    parameters = parameter_values(document, given, env.stack_name, region)
    evaluator = Evaluator(document, parameters)
    resources = {logical_id: str(resource["Type"]) for logical_id, resource in document["Resources"].items()}
    try:
        api = read_api(evaluator)
    except (ApiConfigError, ValueError) as error:  # ValueError: from the template's evaluation
        raise ApiConfigError(f"{template_path}: {error}") from error
    return Stack(
        config_env=env,
        template_path=template_path,
        document=document,
        region=region,
        parameters=parameters,
        resources=resources,
        functions={
            logical_id: read_function(evaluator, logical_id)
            for logical_id, kind in resources.items()
            if kind == FUNCTION_TYPE
        },
        api=replace(api, unemulated=tuple(f"{template_path.name}: {line}" for line in api.unemulated)),
        parameter_overrides=given,
    )


def local_overrides(facts: config.LocalFacts) -> dict[str, str]:
    """What the local environment adds to samconfig.toml's `local` parameters: the Auth emulator's project."""
    return {"FirebaseProjectId": facts.firebase.project_id}


def local_stack(
    facts: config.LocalFacts,
    *,
    overrides: Mapping[str, str] | None = None,
    template_path: Path = paths.TEMPLATE,
) -> Stack:
    """The stack as the local environment deploys it: samconfig.toml's `local` env, the emulator's region and
    the Firebase emulator's demo project (then `overrides`). Its API alone accepts the Auth emulator's
    unsigned tokens, of that demo project only (apigw/authorizer.py)."""
    stack = read_stack(
        LOCAL,
        region=facts.aws.region,
        overrides={**local_overrides(facts), **(overrides or {})},
        template_path=template_path,
    )
    return replace(stack, api=replace(stack.api, emulator_issuer=facts.firebase.token_issuer))
