"""Ready hook: the emulator answers for every service template.yml deploys to, or the start fails here,
naming what is missing (a LocalStack with a restricted SERVICES list, an emulator build without one).

Runs inside the emulator's container (MiniStack and LocalStack run /etc/localstack/init/ready.d/*.py with
their own Python, which has boto3) and, for `make dev`, on the host against the same emulator.
"""

import os
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

# service -> a cheap read call it must answer
CALLS = {
    "cloudformation": ("list_stacks", {}),
    "dynamodb": ("list_tables", {}),
    "s3": ("list_buckets", {}),
    "iam": ("list_roles", {}),
    "lambda": ("list_functions", {}),
    "logs": ("describe_log_groups", {}),
    "apigatewayv2": ("get_apis", {}),
}

endpoint = os.environ.get("AWS_ENDPOINT_URL")
if not endpoint:
    sys.exit("10-check-services: AWS_ENDPOINT_URL is not set (the emulator sets it for its init hooks)")
quick = Config(connect_timeout=2, read_timeout=10, retries={"max_attempts": 1})
missing = []
for service, (call, arguments) in CALLS.items():
    try:
        getattr(boto3.client(service, endpoint_url=endpoint, config=quick), call)(**arguments)
    except (BotoCoreError, ClientError) as error:
        missing.append(f"{service} ({error})")
if missing:
    sys.exit("10-check-services: the emulator does not serve: " + "; ".join(missing))
print(f"10-check-services: {len(CALLS)} services answer at {endpoint}")
