"""The Parley stack: the signaling API, the static site that uses it, and the alarms that watch both."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from infra.alarms import Alarms
from infra.config import Config
from infra.signaling_api import SignalingApi
from infra.static_site import StaticSite


class ParleyStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        config = Config.from_context(self.node)
        self.signaling = SignalingApi(self, "Signaling", config=config)
        # The site's CSP names the API (by id), and the API's $connect allow-list names the site (by domain):
        # neither resource depends on the other's existence, only the functions wait for the distribution.
        self.site = StaticSite(
            self,
            "Site",
            config=config,
            websocket_origin=self.signaling.websocket_origin,
            websocket_url=self.signaling.stage.url,
        )
        self.signaling.allow_origins([*self.site.origins, *config.allowed_origins])
        if config.alarms:
            Alarms(
                self,
                "Alarms",
                functions=self.signaling.functions,
                stage=self.signaling.stage,
                dead_letter_queues={"DisconnectGrace": self.signaling.grace_dead_letters},
                email=config.alarm_email,
            )
        # Stable output names: scripts and docs read them.
        for name, value, description in (
            ("SiteUrl", self.site.url, "Open this in a browser; share it with a ?room=... to invite"),
            ("WebSocketUrl", self.signaling.stage.url, "The signaling endpoint (wss://), for other clients"),
            (
                "DistributionDomainName",
                self.site.distribution.distribution_domain_name,
                "Point a custom domain's DNS alias (CNAME or Route 53 alias) here",
            ),
        ):
            CfnOutput(self, name, value=value, description=description).override_logical_id(name)
