"""`devstack gateway` says on start, one warning line each, what of the template's API it does not emulate."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx

from devstack.supervision import free_port

TEMPLATE = """
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      Tags: {team: notes}
      StageName: prod
      DisableExecuteApiEndpoint: true
      DefaultRouteSettings: {ThrottlingRateLimit: 5, LoggingLevel: INFO}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Proxy:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Path: '/{proxy+}', Method: ANY}
"""


def test_devstack_gateway_lists_what_it_does_not_emulate(tmp_path: Path) -> None:
    template = tmp_path / "api.yml"
    template.write_text(TEMPLATE)
    port = free_port()
    devstack = Path(sys.executable).with_name("devstack")
    command = [
        str(devstack),
        "gateway",
        "--rie",
        "127.0.0.1:9",
        "--port",
        str(port),
        "--function-timeout",
        "3",
    ]
    gateway = subprocess.Popen(
        [*command, "--template", str(template)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and gateway.poll() is None:
            try:  # the warnings are printed before the gateway serves
                if httpx.get(f"http://127.0.0.1:{port}/__gateway/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
    finally:
        gateway.terminate()
        output, _ = gateway.communicate(timeout=30)
    warnings = sorted(line.split("| ", 1)[1] for line in output.splitlines() if "warning:" in line)
    assert warnings == sorted(
        f"warning: api.yml: {name} is not emulated by the local gateway"
        for name in (
            "HttpApi.Tags",
            "HttpApi.StageName",
            "HttpApi.DefaultRouteSettings.LoggingLevel",
            "HttpApi.DisableExecuteApiEndpoint",
        )
    )
