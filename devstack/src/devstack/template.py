"""Read template.yml (and, through devstack.samconfig, samconfig.toml) without AWS: the one source of truth
for the table, the bucket, the function's environment and each config env's parameters."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from devstack.paths import TEMPLATE
from devstack.samconfig import parameter_overrides as parameter_overrides
from devstack.samconfig import region_of as region_of
from devstack.samconfig import stack_name as stack_name


class _CloudFormationLoader(yaml.SafeLoader):
    """Keeps short-form intrinsics (!Ref, !Sub, !If ...) as {"Ref": ...} / {"Fn::Sub": ...} mappings."""


def _intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if name == "Fn::GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CloudFormationLoader.add_multi_constructor("!", _intrinsic)


def load(path: Path = TEMPLATE) -> dict[str, Any]:
    document: dict[str, Any] = yaml.load(path.read_text(), Loader=_CloudFormationLoader)  # noqa: S506 (a SafeLoader)
    return document


def resource_of_type(template: dict[str, Any], resource_type: str) -> tuple[str, dict[str, Any]]:
    """The template's single resource of `resource_type`, as (logical id, properties)."""
    matches = [
        (logical_id, resource.get("Properties", {}))
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == resource_type
    ]
    if len(matches) != 1:
        raise ValueError(f"template.yml should declare exactly one {resource_type}, found {len(matches)}")
    return matches[0]


# ------------------------------------------------------------------------------------ parameter values
LOCAL_ACCOUNT_ID = "123456789012"
"""The account id the emulators and the local gateway report (AWS's documentation example)."""


def parameter_values(
    template: dict[str, Any], overrides: Mapping[str, str], stack: str, region: str
) -> dict[str, Any]:
    """Defaults, then overrides, then the pseudo parameters; lists for CommaDelimitedList, as CFN does.

    A parameter with neither a default nor an override is left out: Refs to it stay unresolved."""
    declared = template.get("Parameters", {})
    values: dict[str, Any] = {name: spec["Default"] for name, spec in declared.items() if "Default" in spec}
    values |= overrides
    for name, spec in declared.items():
        if spec.get("Type") == "CommaDelimitedList" and isinstance(values.get(name), str):
            values[name] = [item.strip() for item in values[name].split(",")]
    pseudo = {
        "AWS::Region": region,
        "AWS::Partition": "aws",
        "AWS::AccountId": LOCAL_ACCOUNT_ID,
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::StackName": stack,
    }
    return values | pseudo


# ------------------------------------------------------------------------------ intrinsic functions
NO_VALUE = object()
"""AWS::NoValue: the property it stands for is dropped."""


class Evaluator:
    """Partial evaluation of a template's intrinsics for known parameter values.

    Conditions and parameter Refs resolve; what only a deployed stack knows (a resource's Ref or GetAtt,
    a Sub or Join over one) stays an intrinsic mapping, so callers can tell resolved from unresolved.
    """

    def __init__(self, template: dict[str, Any], parameters: Mapping[str, Any]) -> None:
        self.template = template
        self.parameters = parameters
        self._conditions: dict[str, bool] = {}

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            self._conditions[name] = bool(self.value(self.template["Conditions"][name]))
        return self._conditions[name]

    def value(self, node: Any) -> Any:
        if isinstance(node, dict) and len(node) == 1:
            ((key, arg),) = node.items()
            if key == "Ref":
                return NO_VALUE if arg == "AWS::NoValue" else self.parameters.get(arg, node)
            if key == "Condition":
                return self.condition(arg)
            if key == "Fn::If":
                return self.value(arg[1] if self.condition(arg[0]) else arg[2])
            if key == "Fn::Equals":
                return str(self.value(arg[0])) == str(self.value(arg[1]))
            if key == "Fn::Not":
                return not self.value(arg[0])
            if key == "Fn::And":
                return all(self.value(item) for item in arg)
            if key == "Fn::Or":
                return any(self.value(item) for item in arg)
            if key == "Fn::Sub":
                return self._sub(arg)
            if key == "Fn::Join":
                parts = self.value(arg[1])
                if isinstance(parts, list) and all(isinstance(part, str) for part in parts):
                    return str(arg[0]).join(parts)
                return {key: [arg[0], parts]}
        if isinstance(node, dict):
            evaluated = {key: self.value(item) for key, item in node.items()}
            return {key: item for key, item in evaluated.items() if item is not NO_VALUE}
        if isinstance(node, list):
            return [item for item in (self.value(entry) for entry in node) if item is not NO_VALUE]
        return node

    def _sub(self, arg: Any) -> Any:
        text, local = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            found = self.value(local[name]) if name in local else self.parameters.get(name)
            return match.group(0) if found is None or isinstance(found, (dict, list)) else str(found)

        text = re.sub(r"\$\{([^}!]+)\}", substitute, text)
        return text if "${" not in text.replace("${!", "") else {"Fn::Sub": text}
