"""Where the Google credential behind check_revoked comes from (building one makes no network call)."""

import json

import google.auth.aws
import google.auth.credentials
import pytest

from infrastructure.firebase import credential_for_revocation_checks
from tests.support.fakes import make_settings
from web import build_app

# The shape `gcloud iam workload-identity-pools create-cred-config --aws` writes: the function's AWS role
# (from Lambda's own environment credentials) is exchanged for a Google access token. Nothing secret.
WORKLOAD_IDENTITY_CONFIG = {
    "type": "external_account",
    "audience": "//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/aws/providers/fn",
    "subject_token_type": "urn:ietf:params:aws:token-type:aws4_request",
    "token_url": "https://sts.googleapis.com/v1/token",
    "service_account_impersonation_url": "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/"
    "revocation-checker@my-project.iam.gserviceaccount.com:generateAccessToken",
    "credential_source": {
        "environment_id": "aws1",
        "region_url": "http://169.254.169.254/latest/meta-data/placement/availability-zone",
        "url": "http://169.254.169.254/latest/meta-data/iam/security-credentials",
        "regional_cred_verification_url": "https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15",
    },
}


def test_a_workload_identity_config_becomes_the_admin_credential() -> None:
    credential = credential_for_revocation_checks(json.dumps(WORKLOAD_IDENTITY_CONFIG))
    assert isinstance(credential, google.auth.aws.Credentials)


def test_without_configuration_checks_fail_fast_instead_of_probing_metadata(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    credential = credential_for_revocation_checks(None)
    assert isinstance(credential, google.auth.credentials.AnonymousCredentials)


def test_a_config_google_auth_cannot_use_stops_the_app_at_startup() -> None:
    """Settings checks the shape; google-auth checks the rest when the credential is built. That must happen
    at startup: built lazily inside the token check, its ValueError turned every request into a 401."""
    config = {
        **WORKLOAD_IDENTITY_CONFIG,
        "credential_source": {**WORKLOAD_IDENTITY_CONFIG["credential_source"], "environment_id": "aws2"},  # type: ignore[dict-item]
    }
    settings = make_settings(google_credentials_config=json.dumps(config))  # the shape passes Settings
    with pytest.raises(ValueError, match=r"^GOOGLE_CREDENTIALS_CONFIG cannot be used: .*aws version '2'"):
        build_app(settings)
