"""The browser client: a private S3 bucket behind CloudFront (origin access control), HTTPS only, strict headers."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from infra.config import Config
from infra.page import inline_script_hashes
from signaling.definition import page_config

FRONTEND = Path(__file__).resolve().parent.parent / "frontend"


def content_security_policy(websocket_origin: str) -> str:
    """The page may talk only to itself and to this deployment's WebSocket endpoint; no third-party hosts, and no
    inline code but index.html's one script, allowed by its hash (infra.page). blob:/mediastream: carry camera,
    screen and received-file previews."""
    directives = {
        "default-src": "'self'",
        "script-src": " ".join(["'self'", *inline_script_hashes()]),
        "style-src": "'self'",
        "img-src": "'self' data: blob:",
        "media-src": "'self' blob: mediastream:",
        "connect-src": f"'self' {websocket_origin}",
        "object-src": "'none'",
        "frame-ancestors": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


class StaticSite(Construct):
    """Serves frontend/ plus a generated /config.json that tells the page where the WebSocket API is."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: Config, websocket_origin: str, websocket_url: str
    ) -> None:
        super().__init__(scope, construct_id)
        self.logs_bucket = s3.Bucket(
            self,
            "AccessLogs",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            encryption=s3.BucketEncryption.S3_MANAGED,
            # CloudFront standard logging writes with an ACL grant, so this bucket keeps ACLs for the owner.
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(config.log_retention_days))],
            # Access logs are the audit trail: they outlive the stack and expire on their own.
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            encryption=s3.BucketEncryption.S3_MANAGED,
            server_access_logs_bucket=self.logs_bucket,
            server_access_logs_prefix="s3/",
            # Only build output lives here (frontend/ and config.json): it goes with the stack.
            removal_policy=RemovalPolicy.DESTROY,
            auto_delete_objects=True,
        )
        headers = cloudfront.ResponseHeadersPolicy(
            self,
            "Headers",
            comment="Parley: CSP limited to this site and its WebSocket API, HSTS, no framing, no referrer",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=content_security_policy(websocket_origin), override=True
                ),
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=Duration.days(730), include_subdomains=True, override=True
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True
                ),
                # Room links are capability URLs (?room=...): never hand them to another site in a Referer.
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.NO_REFERRER, override=True
                ),
            ),
            custom_headers_behavior=cloudfront.ResponseCustomHeadersBehavior(
                custom_headers=[
                    cloudfront.ResponseCustomHeader(
                        header="Permissions-Policy",
                        value="camera=(self), microphone=(self), display-capture=(self), geolocation=()",
                        override=True,
                    )
                ]
            ),
        )
        # A custom domain needs its own certificate, which in turn allows a modern minimum TLS version.
        certificate = (
            acm.Certificate.from_certificate_arn(self, "Certificate", config.certificate_arn)
            if config.domain_name and config.certificate_arn
            else None
        )
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment="Parley static site",
            default_root_object="index.html",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=headers,
                compress=True,
            ),
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            # North America and Europe edges only: the site is a few small files, latency matters little.
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            enable_logging=True,
            log_bucket=self.logs_bucket,
            log_file_prefix="cloudfront/",
            domain_names=[config.domain_name] if certificate and config.domain_name else None,
            certificate=certificate,
            minimum_protocol_version=cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021 if certificate else None,
        )
        self.custom_domain = certificate is not None
        self.domain_name = config.domain_name or self.distribution.distribution_domain_name
        self.url = f"https://{self.domain_name}"
        # The origins a browser may load the page from: the CloudFront name always works, a custom domain too.
        self.origins = [f"https://{self.distribution.distribution_domain_name}"]
        if config.domain_name:
            self.origins.append(f"https://{config.domain_name}")

        site = s3deploy.BucketDeployment(
            self,
            "Deployment",
            # Its sync leaves config.json (excluded) alone: the deployment below writes it.
            sources=[s3deploy.Source.asset(str(FRONTEND), exclude=["config.json"])],
            exclude=["config.json"],
            destination_bucket=self.bucket,
            distribution=self.distribution,
            distribution_paths=["/*"],
            memory_limit=256,
        )
        # config.json is generated: its wsUrl is a deploy-time value, filled in by the deployment itself. The page
        # preloads it (index.html), and a preload cannot say `cache: "no-store"` as a fetch can, so the object itself
        # says `no-cache`: a browser never uses a copy from an earlier deployment without asking.
        config_json = s3deploy.BucketDeployment(
            self,
            "ConfigDeployment",
            sources=[
                s3deploy.Source.json_data(
                    "config.json",
                    page_config(websocket_url, config.ice_servers, turn=config.turn or bool(config.turn_urls)),
                )
            ],
            destination_bucket=self.bucket,
            prune=False,
            cache_control=[s3deploy.CacheControl.no_cache()],
            distribution=self.distribution,
            distribution_paths=["/config.json"],
            memory_limit=256,
        )
        config_json.node.add_dependency(site)
