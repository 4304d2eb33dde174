"""A CloudFormation/SAM template file as data: the one module that opens one (template.yml, a built copy,
a test's fixture). Short-form intrinsics (!Ref, !Sub, !If ...) become {"Ref": ...} / {"Fn::Sub": ...}."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from devstack import paths


class _CloudFormationLoader(yaml.SafeLoader):
    """Keeps short-form intrinsics as their long-form mappings."""


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


def load(path: Path = paths.TEMPLATE) -> dict[str, Any]:
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
        raise ValueError(f"the template should declare exactly one {resource_type}, found {len(matches)}")
    return matches[0]
