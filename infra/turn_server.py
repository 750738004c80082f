"""An optional TURN server (`-c turn=true`): coturn from Ubuntu's own package on small Graviton instances.

Each instance has its own Elastic IP (TURN clients talk to one fixed address per server) and all of them share one
TURN REST API secret from Secrets Manager, read at boot, so the `joined` message lists every server with credentials
that each of them accepts. The security group opens only the TURN ports and the relay range; coturn refuses to relay
to private, link-local (the instance metadata service) and loopback addresses, which is what keeps a public TURN
server from being a door into the VPC. No SSH, no key pair: the instance is configured by its user data only, and
replaced (not repaired) to change it. With a domain name it also serves `turns:` (TURN over TLS) on TCP 443, for
networks that allow nothing but HTTPS, with a Let's Encrypt certificate that certbot obtains and renews itself.

Ubuntu, not Amazon Linux 2023: Ubuntu 24.04 packages coturn (universe, 4.6.1), AL2023 does not, and its AMI id comes
from Canonical's public SSM parameter at deploy time, so synthesis needs no AWS credentials.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

UBUNTU_ARM64_AMI = "/aws/service/canonical/ubuntu/server/24.04/stable/current/arm64/hvm/ebs-gp3/ami-id"
TURN_PORT = 3478
TLS_PORT = 443
RELAY_PORTS = (49152, 65535)
"""coturn's default relay range (min-port/max-port): each relayed call uses one port per participant."""
ACME_PORT = 80
"""Only with a domain: certbot's HTTP-01 challenge, to obtain and renew the certificate for `turns:`."""

# Peers coturn must never relay to. A TURN client chooses the peer address, so without these an allocation could
# reach the VPC, the instance metadata service (169.254.169.254) or carrier-grade NAT space. coturn already refuses
# loopback peers unless --allow-loopback-peers, which only the tests set.
DENIED_PEERS = (
    "0.0.0.0-0.255.255.255",
    "10.0.0.0-10.255.255.255",
    "100.64.0.0-100.127.255.255",
    "169.254.0.0-169.254.255.255",
    "172.16.0.0-172.31.255.255",
    "192.0.0.0-192.0.0.255",
    "192.168.0.0-192.168.255.255",
    "198.18.0.0-198.19.255.255",
    "::1",
    "64:ff9b::-64:ff9b::ffff:ffff",
    "fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    "fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
)


@dataclass(frozen=True)
class TurnSettings:
    count: int
    instance_type: str
    domain_name: str | None


class TurnServers(Construct):
    """`count` coturn instances; `urls` are what `joined` hands out, `secret` is the shared TURN REST secret."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: TurnSettings,
        secret: secretsmanager.ISecret,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)
        self.secret = secret
        # Public subnets only, no NAT gateway: the instances need a public address anyway, and a NAT gateway would
        # cost more than they do.
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="Public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24)
            ],
        )
        self.security_group = self._security_group(settings)
        self.log_group = logs.LogGroup(self, "Logs", retention=log_retention, removal_policy=RemovalPolicy.DESTROY)
        self.role = self._role()
        self.host_names = _host_names(settings)
        self.instances: list[ec2.Instance] = []
        self.addresses: list[ec2.CfnEIP] = []
        self.down_alarms: list[cloudwatch.Alarm] = []
        """One per server, for the stack's alarm topic; the recovery alarms act on their own."""
        for index in range(settings.count):
            self._server(index, settings)
        self.urls: tuple[str, ...] = tuple(
            url
            for index, address in enumerate(self.addresses)
            for url in _urls(address.ref, self.host_names[index] if self.host_names else None)
        )

    def _security_group(self, settings: TurnSettings) -> ec2.SecurityGroup:
        group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=self.vpc,
            description="Parley TURN: STUN/TURN on 3478 (UDP, TCP), the UDP relay range, and TLS when a domain is set",
            allow_all_outbound=True,  # relayed media goes to whatever address the peers have
        )
        # IPv4 only: the VPC has no IPv6 range, so ::/0 rules would open nothing.
        for peer in (ec2.Peer.any_ipv4(),):
            group.add_ingress_rule(peer, ec2.Port.udp(TURN_PORT), "TURN over UDP")
            group.add_ingress_rule(peer, ec2.Port.tcp(TURN_PORT), "TURN over TCP")
            group.add_ingress_rule(peer, ec2.Port.udp_range(*RELAY_PORTS), "TURN relay range (peer to relay)")
            if settings.domain_name:
                group.add_ingress_rule(peer, ec2.Port.tcp(TLS_PORT), "TURN over TLS (turns:)")
                group.add_ingress_rule(peer, ec2.Port.tcp(ACME_PORT), "Let's Encrypt HTTP-01 for the TLS certificate")
        return group

    def _role(self) -> iam.Role:
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
            description="Parley TURN instances: read the TURN secret, write their logs",
        )
        self.secret.grant_read(role)
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                resources=[self.log_group.log_group_arn],
            )
        )
        return role

    def _server(self, index: int, settings: TurnSettings) -> None:
        number = index + 1
        address = ec2.CfnEIP(self, f"Address{number}", domain="vpc")
        host_name = self.host_names[index] if self.host_names else None
        instance = ec2.Instance(
            self,
            f"Server{number}",
            vpc=self.vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
            instance_type=ec2.InstanceType(settings.instance_type),
            machine_image=ec2.MachineImage.from_ssm_parameter(UBUNTU_ARM64_AMI, os=ec2.OperatingSystemType.LINUX),
            security_group=self.security_group,
            role=self.role,
            require_imdsv2=True,
            user_data=ec2.UserData.custom(
                user_data(
                    secret_arn=self.secret.secret_arn,
                    region=Aws.REGION,
                    public_ip=address.ref,
                    host_name=host_name,
                    log_group=self.log_group.log_group_name,
                )
            ),
            # A changed configuration takes effect by replacement: the instance holds no state worth keeping.
            user_data_causes_replacement=True,
            block_devices=[
                ec2.BlockDevice(
                    device_name="/dev/sda1",
                    volume=ec2.BlockDeviceVolume.ebs(8, encrypted=True, volume_type=ec2.EbsDeviceVolumeType.GP3),
                )
            ],
        )
        ec2.CfnEIPAssociation(
            self, f"Association{number}", allocation_id=address.attr_allocation_id, instance_id=instance.instance_id
        )
        self.instances.append(instance)
        self.addresses.append(address)
        self._recovery_alarm(number, instance)
        self.down_alarms.append(self._down_alarm(number, instance))

    def _recovery_alarm(self, number: int, instance: ec2.Instance) -> cloudwatch.Alarm:
        """A failed system status check (the host under the instance) moves it to healthy hardware, keeping its
        Elastic IP, so the URLs in `joined` stay valid."""
        alarm = cloudwatch.Alarm(
            self,
            f"Server{number}Recover",
            alarm_description=f"TURN server {number}: the underlying host failed; EC2 recovers the instance",
            metric=_status_metric("StatusCheckFailed_System", instance),
            threshold=1,
            evaluation_periods=2,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.MISSING,
        )
        alarm.add_alarm_action(actions.Ec2Action(actions.Ec2InstanceAction.RECOVER))
        return alarm

    def _down_alarm(self, number: int, instance: ec2.Instance) -> cloudwatch.Alarm:
        """The server is down: a status check fails, or no status at all arrives (a stopped or terminated instance
        publishes nothing, hence missing data counts as breaching)."""
        return cloudwatch.Alarm(
            self,
            f"Server{number}Down",
            alarm_description=f"TURN server {number} failed its status checks or stopped: relayed calls fail",
            metric=_status_metric("StatusCheckFailed", instance),
            threshold=1,
            evaluation_periods=3,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
        )


def _status_metric(name: str, instance: ec2.Instance) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace="AWS/EC2",
        metric_name=name,
        dimensions_map={"InstanceId": instance.instance_id},
        statistic="Maximum",
        period=Duration.minutes(1),
    )


def _host_names(settings: TurnSettings) -> tuple[str, ...]:
    """turn.example.com, then turn-2.example.com, turn-3.example.com...: one name (one certificate) per server."""
    if not settings.domain_name:
        return ()
    first, _, rest = settings.domain_name.partition(".")
    return tuple(settings.domain_name if n == 1 else f"{first}-{n}.{rest}" for n in range(1, settings.count + 1))


def _urls(address: str, host_name: str | None) -> tuple[str, ...]:
    """UDP first (what a browser tries first and what carries media best), TCP for networks that block UDP, and TLS
    on 443 for those that allow only HTTPS (a certificate needs a name, so only with a domain)."""
    urls = (f"turn:{address}:{TURN_PORT}?transport=udp", f"turn:{address}:{TURN_PORT}?transport=tcp")
    return (*urls, f"turns:{host_name}:{TLS_PORT}?transport=tcp") if host_name else urls


def user_data(*, secret_arn: str, region: str, public_ip: str, host_name: str | None, log_group: str) -> str:
    """The boot script: patch, install coturn, write its configuration with the secret, start it. Runs once, as
    root, on first boot (cloud-init)."""
    denied = "\n".join(f"denied-peer-ip={peer}" for peer in DENIED_PEERS)
    tls = (
        f"tls-listening-port={TLS_PORT}\n"
        f"cert=/etc/coturn/tls/fullchain.pem\n"
        f"pkey=/etc/coturn/tls/privkey.pem\n"
        "no-tlsv1\nno-tlsv1_1\n"
        if host_name
        else "no-tls\n"
    )
    certificate = _certificate_script(host_name) if host_name else ""
    return f"""#!/bin/bash
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

# Patched on boot, and kept patched: Ubuntu's unattended-upgrades applies security updates daily (on by default in
# the cloud image; enabled explicitly here so it does not depend on that default).
# The instance boots with a public address of its own (the subnet assigns one) so it can fetch packages at once;
# the Elastic IP replaces it moments later, which may cut a download short: hence the retries.
for attempt in 1 2 3 4 5 6 7 8 9 10; do apt-get update -q && break; sleep 15; done
apt-get -o Acquire::Retries=5 upgrade -y -q
apt-get -o Acquire::Retries=5 install -y -q coturn python3-boto3 unattended-upgrades {"certbot" if host_name else ""}
cat > /etc/apt/apt.conf.d/20auto-upgrades <<'EOF'
APT::Periodic::Update-Package-Lists "1";
APT::Periodic::Unattended-Upgrade "1";
EOF

# The shared secret, read from Secrets Manager with the instance role (never in the template or the user data).
cat > /usr/local/sbin/parley-turn-secret <<'EOF'
#!/usr/bin/python3
import sys
import boto3
secrets = boto3.client("secretsmanager", region_name=sys.argv[1])
print(secrets.get_secret_value(SecretId=sys.argv[2])["SecretString"])
EOF
chmod 0700 /usr/local/sbin/parley-turn-secret
SECRET=$(/usr/local/sbin/parley-turn-secret '{region}' '{secret_arn}')
TOKEN=$(curl -sf -X PUT http://169.254.169.254/latest/api/token -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')
PRIVATE_IP=$(curl -sf -H "X-aws-ec2-metadata-token: $TOKEN" http://169.254.169.254/latest/meta-data/local-ipv4)

install -d -m 0750 -o root -g turnserver /etc/coturn /etc/coturn/tls
umask 027
cat > /etc/turnserver.conf <<EOF
# Written by Parley's user data (infra/turn_server.py). The instance is replaced, not edited, to change it.
listening-port={TURN_PORT}
listening-ip=$PRIVATE_IP
relay-ip=$PRIVATE_IP
# EC2 maps the Elastic IP 1:1 onto the private address: clients must be told the public one.
external-ip={public_ip}/$PRIVATE_IP
min-port={RELAY_PORTS[0]}
max-port={RELAY_PORTS[1]}
use-auth-secret
static-auth-secret=$SECRET
realm={host_name or "parley"}
fingerprint
no-cli
no-multicast-peers
no-software-attribute
no-dtls
{tls}{denied}
syslog
EOF
chgrp turnserver /etc/turnserver.conf
{certificate}
# 443 is a privileged port; coturn runs as the turnserver user.
install -d /etc/systemd/system/coturn.service.d
cat > /etc/systemd/system/coturn.service.d/parley.conf <<'EOF'
[Service]
AmbientCapabilities=CAP_NET_BIND_SERVICE
Restart=always
EOF
systemctl daemon-reload
systemctl enable coturn
systemctl restart coturn

# System and coturn logs (coturn logs to syslog) to CloudWatch Logs, with the agent from AWS's own download site.
curl -sf --retry 5 -o /tmp/cwagent.deb https://amazoncloudwatch-agent.s3.amazonaws.com/ubuntu/arm64/latest/amazon-cloudwatch-agent.deb
dpkg -i /tmp/cwagent.deb
cat > /opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json <<'EOF'
{{"logs": {{"logs_collected": {{"files": {{"collect_list": [
  {{"file_path": "/var/log/syslog", "log_group_name": "{log_group}", "log_stream_name": "{{instance_id}}/syslog"}},
  {{"file_path": "/var/log/cloud-init-output.log", "log_group_name": "{log_group}",
   "log_stream_name": "{{instance_id}}/boot"}}
]}}}}}}}}
EOF
/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s \\
  -c file:/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json
"""


def _certificate_script(host_name: str) -> str:
    """certbot (HTTP-01 on port 80) until it has a certificate: the DNS record for the name may appear after the
    instance boots. Its own timer renews it; the deploy hook hands coturn a copy it can read and restarts it."""
    return f"""
install -d /etc/letsencrypt/renewal-hooks/deploy
cat > /etc/letsencrypt/renewal-hooks/deploy/coturn <<'EOF'
#!/bin/sh
install -m 0640 -g turnserver /etc/letsencrypt/live/{host_name}/fullchain.pem /etc/coturn/tls/fullchain.pem
install -m 0640 -g turnserver /etc/letsencrypt/live/{host_name}/privkey.pem /etc/coturn/tls/privkey.pem
systemctl restart coturn
EOF
chmod 0755 /etc/letsencrypt/renewal-hooks/deploy/coturn
cat > /etc/systemd/system/parley-certificate.service <<'EOF'
[Unit]
Description=Obtain the TLS certificate for {host_name} (turns:)
ConditionPathExists=!/etc/letsencrypt/live/{host_name}/fullchain.pem
[Service]
Type=oneshot
ExecStart=/usr/bin/certbot certonly --standalone --non-interactive --agree-tos \\
  --register-unsafely-without-email -d {host_name}
EOF
cat > /etc/systemd/system/parley-certificate.timer <<'EOF'
[Unit]
Description=Retry the TLS certificate until the DNS name points here
[Timer]
OnBootSec=1min
OnUnitInactiveSec=10min
[Install]
WantedBy=timers.target
EOF
systemctl daemon-reload
systemctl enable --now parley-certificate.timer
"""
