"""A function as the template declares it (Globals merged, intrinsics evaluated), like SAM CLI's function
provider: what its execution environments get from the template. What only a deployed stack knows stays
unresolved and is listed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from devstack.stack.intrinsics import Evaluator

FUNCTION_TYPE = "AWS::Serverless::Function"


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
    """Environment keys whose value only a deployed stack knows (a GetAtt, a Sub over one ...)."""

    def variables(self, overrides: Mapping[str, str]) -> dict[str, str]:
        """What the function's processes get beyond the runtime's own settings: Lambda's variables for the
        function, the template's environment, then `overrides`."""
        return {
            "_HANDLER": self.handler,
            "AWS_LAMBDA_FUNCTION_NAME": self.logical_id,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(self.timeout),
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.memory_size),
            **self.environment,
            **overrides,
        }


def _declared_properties(template: dict[str, Any], properties: dict[str, Any]) -> dict[str, Any]:
    """The function's properties over Globals.Function, environment variables merged key by key."""
    globals_ = template.get("Globals", {}).get("Function", {})
    variables = {
        **globals_.get("Environment", {}).get("Variables", {}),
        **properties.get("Environment", {}).get("Variables", {}),
    }
    return {**globals_, **properties, "Environment": {"Variables": variables}}


def read_function(evaluator: Evaluator, logical_id: str) -> FunctionConfig:
    """The function `logical_id` of the evaluator's template."""
    template = evaluator.template
    resource = template["Resources"][logical_id]
    props = evaluator.value(_declared_properties(template, resource.get("Properties", {})))
    variables = props["Environment"]["Variables"]
    # Still an intrinsic after evaluation: only a deployed stack knows it.
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
