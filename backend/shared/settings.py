"""Runtime configuration, read once from the environment."""

import json
import os
from functools import lru_cache
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Environment = Literal["dev", "staging", "prod", "local", "test"]
# Where the emulators run: the local chain (`local`) and the test suites (`test`). Every other environment
# is deployed on AWS.
EMULATED_ENVIRONMENTS: frozenset[Environment] = frozenset({"local", "test"})

APP_VERSION = "1.0.0"
# boto3 reads AWS_ENDPOINT_URL and every AWS_ENDPOINT_URL_<SERVICE> from the process environment itself
# (AWS_ENDPOINT_URL_DYNAMODB, _S3, _STS, ...): a field for each would miss the services nobody listed.
AWS_ENDPOINT_VARIABLE_PREFIX = "AWS_ENDPOINT_URL"


def _aws_endpoint_variables() -> frozenset[str]:
    return frozenset(
        name.upper()
        for name, value in os.environ.items()
        if name.upper().startswith(AWS_ENDPOINT_VARIABLE_PREFIX) and value
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore")

    # Required: a forgotten ENVIRONMENT must not silently pick one (the template always sets it).
    environment: Environment
    log_level: str = "INFO"
    dynamodb_table: str
    s3_bucket: str
    firebase_project_id: str
    aws_region: str = "us-east-1"
    # Emulators only: the guard below refuses them outside the emulated environments.
    aws_endpoint_url: str | None = None
    # Where clients (a browser, curl on the host) reach the S3 emulator, when it differs from where the app
    # does: in compose the app reaches it by its service name, the host on 127.0.0.1. Presigned URLs name it.
    s3_presign_endpoint_url: str | None = None
    firebase_auth_emulator_host: str | None = None
    # The AWS_ENDPOINT_URL* variables set in the process environment: get_settings passes them (an argument
    # outranks any variable of this name), and unit tests' settings see none of the developer's shell.
    aws_endpoint_variables: frozenset[str] = Field(default=frozenset(), exclude=True)
    # A Google credential configuration (JSON), used only for the Admin API call behind revocation checks:
    # typically workload identity federation, which trades the function's AWS role for a Google token
    # (no key, nothing secret). Unset: revocation-checked routes answer 503. See docs/auth.md.
    google_credentials_config: str | None = None

    @field_validator(
        "aws_endpoint_url",
        "s3_presign_endpoint_url",
        "firebase_auth_emulator_host",
        "google_credentials_config",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("google_credentials_config")
    @classmethod
    def _workload_identity_only(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            config = json.loads(value)
        except ValueError:
            config = None
        source = config.get("credential_source") if isinstance(config, dict) else None
        if not (
            isinstance(source, dict)
            and config.get("type") == "external_account"
            and "environment_id" in source
        ):
            # Keys would be long-lived secrets in plain environment variables; federation needs none.
            raise ValueError(
                "GOOGLE_CREDENTIALS_CONFIG must be a workload identity federation config with an AWS source "
                "(gcloud iam workload-identity-pools create-cred-config --aws); see docs/auth.md"
            )
        return value

    @model_validator(mode="after")
    def _refuse_emulators_where_deployed(self) -> "Settings":
        emulator_vars = sorted(
            self.aws_endpoint_variables
            | {
                name
                for name, value in (
                    ("AWS_ENDPOINT_URL", self.aws_endpoint_url),
                    ("S3_PRESIGN_ENDPOINT_URL", self.s3_presign_endpoint_url),
                    ("FIREBASE_AUTH_EMULATOR_HOST", self.firebase_auth_emulator_host),
                )
                if value
            }
        )
        if emulator_vars and not self.is_emulated:
            # An emulated auth backend accepts unsigned tokens: starting would disable authentication.
            raise ValueError(
                f"refusing to start: ENVIRONMENT={self.environment} with emulator variable(s) set: "
                f"{', '.join(emulator_vars)} (emulators are for ENVIRONMENT "
                f"{' or '.join(sorted(EMULATED_ENVIRONMENTS))} only)"
            )
        return self

    @property
    def is_production(self) -> bool:
        return self.environment == "prod"

    @property
    def is_emulated(self) -> bool:
        """Runs against the local emulators, not on AWS."""
        return self.environment in EMULATED_ENVIRONMENTS


@lru_cache
def get_settings() -> Settings:
    # Required fields come from the environment.
    return Settings(aws_endpoint_variables=_aws_endpoint_variables())  # type: ignore[call-arg]
