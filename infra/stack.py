"""The Parley stack: the signaling API, the static site that uses it, and the alarms that watch both."""

from __future__ import annotations

import dataclasses
from typing import Any

from aws_cdk import Annotations, CfnOutput, Fn, Stack
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.alarms import Alarms
from infra.config import Config
from infra.signaling_api import SignalingApi
from infra.static_site import StaticSite
from infra.turn_server import TurnServers, TurnSettings


class ParleyStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        config = Config.from_context(self.node)
        if config.reservation_warning is not None:
            Annotations.of(self).add_warning_v2("parley:reserved-concurrency", config.reservation_warning)
        self.turn = self._turn(config) if config.turn else None
        if self.turn is not None:
            # The servers' own URLs join any configured ones: `joined` lists them all, with one set of credentials.
            config = dataclasses.replace(config, turn_urls=(*config.turn_urls, *self.turn.urls))
        self.signaling = SignalingApi(
            self, "Signaling", config=config, turn_secret=self.turn.secret if self.turn is not None else None
        )
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
                more=self.turn.down_alarms if self.turn is not None else (),
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
        if self.turn is not None:
            addresses = Fn.join(",", [address.ref for address in self.turn.addresses])
            CfnOutput(
                self, "TurnAddresses", value=addresses, description="The TURN servers' Elastic IPs, in order"
            ).override_logical_id("TurnAddresses")
            if self.turn.host_names:
                CfnOutput(
                    self,
                    "TurnHostNames",
                    value=",".join(self.turn.host_names),
                    description="Point each name's DNS A record at the TurnAddresses entry in the same position",
                ).override_logical_id("TurnHostNames")

    def _turn(self, config: Config) -> TurnServers:
        # The shared secret: the one named by turnSecretName, or one the stack generates (letters and digits only,
        # since it is written into coturn's configuration file by a shell script).
        secret: secretsmanager.ISecret = (
            secretsmanager.Secret.from_secret_name_v2(self, "TurnSecret", config.turn_secret_name)
            if config.turn_secret_name
            else secretsmanager.Secret(
                self,
                "TurnSecret",
                description="Parley TURN REST API shared secret (coturn static-auth-secret)",
                generate_secret_string=secretsmanager.SecretStringGenerator(
                    exclude_punctuation=True, password_length=48
                ),
            )
        )
        return TurnServers(
            self,
            "Turn",
            settings=TurnSettings(
                count=config.turn_count,
                instance_type=config.turn_instance_type,
                domain_name=config.turn_domain_name,
            ),
            secret=secret,
            log_retention=config.log_retention,
        )
