"""The function as template.yml declares it (Globals merged, intrinsics resolved where a local run can).

Like SAM CLI's local/lambdafn/env_vars.py: what the runtime's environment gets from the template. What only a
deployed stack knows (a table's name, a bucket's) stays unresolved and is listed, so the caller passes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack import paths
from devstack.supervision import StartupError
from devstack.template import Evaluator, load, parameter_values


@dataclass(frozen=True)
class FunctionConfig:
    logical_id: str
    handler: str
    timeout: int
    memory_size: int
    environment: dict[str, str]
    reserved_concurrency: int | None
    """ReservedConcurrentExecutions: Lambda throttles past it."""
    unresolved: list[str] = field(default_factory=list)
    """Environment keys whose value only a deployed stack knows (pass them as overrides)."""

    def variables(self, overrides: Mapping[str, str], *, app_port: int) -> dict[str, str]:
        """What the function's processes get beyond the runtime's own settings: Lambda's variables for the
        function, the template's environment, then `overrides`; the app listens on `app_port` (PORT)."""
        variables = {
            "_HANDLER": self.handler,
            "AWS_LAMBDA_FUNCTION_NAME": self.logical_id,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(self.timeout),
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.memory_size),
            **self.environment,
            **overrides,
        }
        variables["PORT"] = str(app_port)
        if "AWS_LWA_PORT" in variables:
            variables["AWS_LWA_PORT"] = str(app_port)
        return variables


def _declared_properties(template: dict[str, Any], properties: dict[str, Any]) -> dict[str, Any]:
    """The function's properties over Globals.Function, environment variables merged key by key."""
    globals_ = template.get("Globals", {}).get("Function", {})
    variables = {
        **globals_.get("Environment", {}).get("Variables", {}),
        **properties.get("Environment", {}).get("Variables", {}),
    }
    return {**globals_, **properties, "Environment": {"Variables": variables}}


def function_config(
    artifact_dir: Path,
    template_path: Path | None = None,
    *,
    region: str,
    parameters: Mapping[str, str] | None = None,
    stack_name: str = "local",
) -> FunctionConfig:
    """Read the function from the built template next to the artifact (else template.yml).

    The logical id is the artifact directory's name (sam build writes .aws-sam/build/<LogicalId>).
    """
    if template_path is None:
        built = artifact_dir.parent / "template.yaml"
        template_path = built if built.exists() else paths.TEMPLATE
    template = load(template_path)
    logical_id = artifact_dir.name
    resource = template.get("Resources", {}).get(logical_id)
    if resource is None:
        raise StartupError(f"lambda chain: {template_path} declares no resource {logical_id!r}")
    evaluator = Evaluator(template, parameter_values(template, parameters or {}, stack_name, region))
    props = evaluator.value(_declared_properties(template, resource.get("Properties", {})))
    variables = props["Environment"]["Variables"]
    # Still an intrinsic after evaluation: only a deployed stack knows it (a table name, a bucket...).
    resolved = {key: str(value) for key, value in variables.items() if not isinstance(value, (dict, list))}

    def number(key: str, default: int) -> int:
        value = props.get(key, default)
        return int(value) if isinstance(value, (int, str)) and str(value).isdigit() else default

    reserved = props.get("ReservedConcurrentExecutions")
    return FunctionConfig(
        logical_id=logical_id,
        handler=str(props.get("Handler", "run.sh")),
        timeout=number("Timeout", 3),
        memory_size=number("MemorySize", 128),
        environment=resolved,
        reserved_concurrency=None if reserved is None else int(reserved),
        unresolved=sorted(set(variables) - set(resolved)),
    )
