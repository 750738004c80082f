"""The static site: private bucket, CloudFront with origin access control, HTTPS, strict headers."""

from __future__ import annotations

import json
import re
from typing import Any

from aws_cdk.assertions import Match, Template
from cdk_template import Synthesis, properties, resources, text

from infra.page import inline_script_hashes


def _csp(template: Template) -> dict[str, list[str]]:
    (policy,) = properties(template, "AWS::CloudFront::ResponseHeadersPolicy")
    header = text(
        policy["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    )
    directives = [part.split() for part in header.split(";") if part.strip()]
    return {name: values for name, *values in directives}


def _distribution(template: Template) -> dict[str, Any]:
    (distribution,) = properties(template, "AWS::CloudFront::Distribution")
    config: dict[str, Any] = distribution["DistributionConfig"]
    return config


def test_site_bucket_is_private_and_refuses_plain_http(template: Template) -> None:
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "LoggingConfiguration": {"LogFilePrefix": "s3/"},
        },
    )
    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})]
                )
            }
        },
    )


def test_distribution_reads_the_bucket_through_origin_access_control(template: Template) -> None:
    (origin,) = _distribution(template)["Origins"]

    assert "OriginAccessControlId" in origin
    assert origin["S3OriginConfig"].get("OriginAccessIdentity", "") == ""
    template.resource_count_is("AWS::CloudFront::OriginAccessControl", 1)
    template.resource_count_is("AWS::CloudFront::CloudFrontOriginAccessIdentity", 0)


def test_distribution_redirects_http_and_serves_index_html(template: Template) -> None:
    config = _distribution(template)

    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    assert config["DefaultRootObject"] == "index.html"


def test_distribution_logs_to_the_access_log_bucket(template: Template) -> None:
    assert _distribution(template)["Logging"]["Prefix"] == "cloudfront/"


def test_csp_allows_connections_only_to_itself_and_this_apis_websocket(template: Template) -> None:
    (api_id,) = resources(template, "AWS::ApiGatewayV2::Api")

    assert _csp(template)["connect-src"] == [
        "'self'",
        f"wss://${{{api_id}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}",
    ]


def test_csp_names_no_wildcard_host(template: Template) -> None:
    sources = [source for values in _csp(template).values() for source in values]

    assert not [source for source in sources if "*" in source]


def test_csp_forbids_inline_code_plugins_and_framing(template: Template) -> None:
    csp = _csp(template)

    assert csp["script-src"] == ["'self'", *inline_script_hashes()]  # index.html's one inline script, by hash
    assert len(inline_script_hashes()) == 1
    assert csp["style-src"] == ["'self'"]
    assert csp["img-src"] == ["'self'", "data:", "blob:"]
    assert csp["media-src"] == ["'self'", "blob:", "mediastream:"]
    assert csp["object-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"]


def test_site_sends_hsts_nosniff_no_referrer_and_a_permissions_policy(template: Template) -> None:
    (policy,) = properties(template, "AWS::CloudFront::ResponseHeadersPolicy")
    config = policy["ResponseHeadersPolicyConfig"]
    security = config["SecurityHeadersConfig"]
    (permissions,) = config["CustomHeadersConfig"]["Items"]

    assert security["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    assert security["ContentTypeOptions"] == {"Override": True}
    assert security["ReferrerPolicy"]["ReferrerPolicy"] == "no-referrer"
    assert permissions["Header"] == "Permissions-Policy"
    assert {"camera=(self)", "microphone=(self)", "display-capture=(self)"} <= set(
        re.split(r",\s*", permissions["Value"])
    )


def _deployments(template: Template) -> tuple[dict[str, Any], dict[str, Any]]:
    """The site's deployment and config.json's, told apart by config.json's marker."""
    deployments = properties(template, "Custom::CDKBucketDeployment")
    (config,) = [d for d in deployments if d.get("SourceMarkers") and any(d["SourceMarkers"])]
    (site,) = [d for d in deployments if d is not config]
    return site, config


def test_deployment_writes_config_json_with_the_websocket_url_and_invalidates(template: Template) -> None:
    site, config = _deployments(template)
    websocket_url = text(template.find_outputs("WebSocketUrl")["WebSocketUrl"]["Value"])
    # Source.json_data leaves a marker in config.json that the deployment replaces with the deploy-time value.
    marker_values = [text(value) for markers in config["SourceMarkers"] for value in markers.values()]

    assert marker_values == [json.dumps(websocket_url)]
    assert site["DistributionPaths"] == ["/*"]
    assert config["DistributionPaths"] == ["/config.json"]


def test_config_json_is_revalidated_and_the_site_sync_leaves_it_alone(template: Template) -> None:
    """The page preloads config.json with the browser's default cache mode, so the object must say no-cache; and
    the site's `s3 sync --delete` must neither delete it nor be pruned by it."""
    site, config = _deployments(template)
    assert config["SystemMetadata"]["cache-control"] == "no-cache"
    assert config["Prune"] is False
    assert site["Exclude"] == ["config.json"]
    assert "cache-control" not in site.get("SystemMetadata", {})


def test_custom_domain_gets_its_certificate_and_modern_tls(configured: Template) -> None:
    config = _distribution(configured)

    assert config["Aliases"] == ["call.example.com"]
    assert config["ViewerCertificate"]["MinimumProtocolVersion"] == "TLSv1.2_2021"
    assert config["ViewerCertificate"]["AcmCertificateArn"].startswith("arn:aws:acm:us-east-1:")


def test_config_json_names_the_ice_servers_unless_turn_hands_out_credentials(
    default_synthesis: Synthesis, turn_synthesis: Synthesis
) -> None:
    """Without TURN the ICE servers are the same for everyone, so the page gets them with the socket's address and
    prepares its first offer without asking; with TURN each client asks `ice` for its own credentials."""
    assert default_synthesis.site_config() == {
        "wsUrl": "(deploy-time value)",
        "iceServers": [{"urls": ["stun:stun.l.google.com:19302"]}],
    }
    assert turn_synthesis.site_config() == {"wsUrl": "(deploy-time value)"}
