"""The AWS-managed Powertools for AWS Lambda (Python) layer, resolved by CloudFormation at deploy time.

The V3 layers bundle every Powertools extra, pydantic (which the parser needs) among them, so nothing but our own
code goes into the Lambda asset.

Powertools publishes, for every release, one public SSM parameter per architecture and runtime whose value is that
release's layer version ARN in the parameter's own region:

    /aws/service/powertools/python/{architecture}/{runtime}/{release}    e.g. .../arm64/python3.13/3.37.0

(`{release}` is the PyPI version, no "v"; a sibling `.../latest` follows the newest release.) Layer version numbers
do not follow release numbers (release 3.23.0 is layer 27), so the stack names the release instead: the one
installed next to this code, which is the one the tests ran against and which pyproject.toml pins exactly. The
parameter becomes an `AWS::SSM::Parameter::Value<String>` stack parameter, so synthesis needs neither network nor
credentials, and a missing parameter stops the deployment before any resource changes.

Where no such parameter exists (GovCloud, China, regions Powertools does not publish to), the context setting
powertoolsLayerArn names the layer instead. docs/deploy.md lists what was verified, and where.
"""

from __future__ import annotations

import re
from importlib import metadata

from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from infra.config import ConfigError

DISTRIBUTION = "aws-lambda-powertools"
PARAMETER_PREFIX = "/aws/service/powertools/python"
# Only final releases get a parameter (the release pipeline writes the PyPI version, e.g. 3.37.0); a pre-release
# or local build installed here would name a parameter that does not exist.
_RELEASE = re.compile(r"\d+\.\d+\.\d+")


def installed_release() -> str:
    """The Powertools release installed in this environment: the one the handlers are tested with."""
    try:
        release = metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError as exc:
        raise ConfigError(
            f"{DISTRIBUTION} is not installed, so the stack cannot tell which Powertools layer to use: install the "
            "project (`make synth` does) or set powertoolsLayerArn"
        ) from exc
    if not _RELEASE.fullmatch(release):
        raise ConfigError(
            f"{DISTRIBUTION} {release} is not a final release, and only those have a layer parameter: install the "
            "version pyproject.toml pins or set powertoolsLayerArn"
        )
    return release


def parameter_name(runtime: lambda_.Runtime, architecture: lambda_.Architecture, release: str) -> str:
    """The public SSM parameter naming the layer of `release` for this runtime ("python3.13", with the dot) and
    architecture ("arm64" or "x86_64"), spelled as Lambda spells them."""
    return f"{PARAMETER_PREFIX}/{architecture.name}/{runtime.name}/{release}"


def powertools_layer(
    scope: Construct,
    construct_id: str,
    *,
    runtime: lambda_.Runtime,
    architecture: lambda_.Architecture,
    layer_arn: str | None,
) -> lambda_.ILayerVersion:
    """The layer for functions of this runtime and architecture: `layer_arn` verbatim when given, otherwise the
    ARN the installed release's public parameter holds in the region being deployed to."""
    arn = layer_arn or ssm.StringParameter.value_for_string_parameter(
        scope, parameter_name(runtime, architecture, installed_release())
    )
    return lambda_.LayerVersion.from_layer_version_arn(scope, construct_id, arn)
