"""Create the data plane (table + bucket) on an emulator from template.yml's own definitions.

Tests use this (0.1 s) rather than a full `sam deploy` (seconds) so every test session gets a fresh
table; `make dev` and the deploy tests deploy the real template.
"""

from __future__ import annotations

import boto3

from devstack import template

_TABLE_KEYS = ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "BillingMode")


def emulator_session() -> boto3.session.Session:
    return boto3.session.Session(
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",  # noqa: S106 (emulator credentials)
    )


def create_data_plane(endpoint_url: str, table_name: str, bucket_name: str) -> None:
    spec = template.load()
    _, table = template.resource_of_type(spec, "AWS::DynamoDB::Table")
    session = emulator_session()
    dynamodb = session.client("dynamodb", endpoint_url=endpoint_url)
    dynamodb.create_table(TableName=table_name, **{key: table[key] for key in _TABLE_KEYS if key in table})
    dynamodb.get_waiter("table_exists").wait(TableName=table_name)
    session.client("s3", endpoint_url=endpoint_url).create_bucket(Bucket=bucket_name)
