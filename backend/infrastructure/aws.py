"""boto3 clients built once per process, held to the outbound budget (outbound.py): a hung call is a 503."""

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING

import boto3.session
import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from botocore.loaders import Loader

from domain.errors import ServiceUnavailable
from infrastructure.outbound import ATTEMPTS, CONNECT_TIMEOUT_S, READ_TIMEOUT_S

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

_BASE_CONFIG = Config(  # type: ignore[call-arg]  # botocore-stubs lacks ignore_configured_endpoint_urls
    # The endpoint is the one the settings name (an emulator's, in local/test only) or AWS's: never one from
    # AWS_ENDPOINT_URL_<SERVICE> or an AWS config file, which botocore would otherwise read by itself.
    ignore_configured_endpoint_urls=True,
    connect_timeout=CONNECT_TIMEOUT_S,
    read_timeout=READ_TIMEOUT_S,
    # total_max_attempts counts the first attempt; botocore's max_attempts would count only the retries.
    retries={"total_max_attempts": ATTEMPTS, "mode": "standard"},
)
# ClientError codes that mean "try later" rather than "your request is wrong".
_TRANSIENT_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "SlowDown",
        "InternalError",
    }
)


#: The services the function calls (template.yml's policies allow no other).
SERVICES = ("dynamodb", "s3")


class _ServicesLoader(Loader):
    """botocore's model loader, told which services exist: before it loads a service's model, botocore checks
    the name against every service it ships, listing its ~460 data directories and stat-ing their files, once
    for the models and once for the endpoint rules (~20 ms of init, measured). The models are botocore's."""

    def list_available_services(self, type_name: str) -> list[str]:
        return list(SERVICES)


@lru_cache(maxsize=1)
def session() -> boto3.session.Session:
    """One session for every client (as boto3.client's default one): models and endpoints are read once."""
    core = botocore.session.get_session()
    searched = core.get_component("data_loader").search_paths  # AWS_DATA_PATH's too, as botocore's
    core.register_component(
        "data_loader", _ServicesLoader(extra_search_paths=searched, include_default_search_paths=False)
    )
    return boto3.session.Session(botocore_session=core)


@lru_cache
def dynamodb_client(region: str, endpoint_url: str | None) -> "DynamoDBClient":
    return session().client("dynamodb", region_name=region, endpoint_url=endpoint_url, config=_BASE_CONFIG)


@lru_cache
def s3_client(region: str, endpoint_url: str | None) -> "S3Client":
    # Presigned URLs must be SigV4 (S3 and MiniStack reject SigV2); emulators serve buckets path-style.
    config = _BASE_CONFIG.merge(
        Config(signature_version="s3v4", s3={"addressing_style": "path" if endpoint_url else "auto"})
    )
    return session().client("s3", region_name=region, endpoint_url=endpoint_url, config=config)


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


@contextmanager
def unavailable_on_transport_errors(service: str) -> Iterator[None]:
    """Unreachable, timed out or throttled AWS calls become ServiceUnavailable; others propagate.

    BotoCoreError covers EndpointConnectionError, ConnectTimeoutError and ReadTimeoutError (after retries).
    """
    try:
        yield
    except BotoCoreError as error:
        raise ServiceUnavailable(f"{service} is unavailable") from error
    except ClientError as error:
        if error_code(error) in _TRANSIENT_CODES:
            raise ServiceUnavailable(f"{service} is unavailable") from error
        raise
