"""The opt-in TURN server (-c turn=true): coturn on Graviton EC2 with an Elastic IP each, only the TURN ports open,
the shared secret from Secrets Manager, IMDSv2, logs and alarms, and its URLs handed to the functions."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Template
from cdk_template import Synthesis, actions, properties, resources, role_statements, signaling_functions, text

from infra.turn_server import DENIED_PEERS, UBUNTU_ARM64_AMI


def _instances(template: Template) -> list[dict[str, Any]]:
    return properties(template, "AWS::EC2::Instance")


def _user_data(template: Template) -> list[str]:
    return [text(instance["UserData"]["Fn::Base64"]) for instance in _instances(template)]


def test_no_turn_server_unless_asked(template: Template, configured: Template) -> None:
    for stack in (template, configured):
        assert not resources(stack, "AWS::EC2::Instance")
        assert not resources(stack, "AWS::EC2::EIP")


def test_turn_stack_passes_cdk_nag(turn_synthesis: Synthesis) -> None:
    assert turn_synthesis.nag_error is None, turn_synthesis.nag_error


def test_one_graviton_instance_per_count_from_canonicals_public_ami_parameter(turn_template: Template) -> None:
    instances = _instances(turn_template)

    assert len(instances) == 2
    assert {instance["InstanceType"] for instance in instances} == {"t4g.small"}
    parameters = turn_template.to_json()["Parameters"]
    for instance in instances:
        image = parameters[instance["ImageId"]["Ref"]]
        assert image["Type"] == "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>"
        assert image["Default"] == UBUNTU_ARM64_AMI
        (volume,) = instance["BlockDeviceMappings"]
        assert volume["Ebs"]["Encrypted"] is True
        assert "KeyName" not in instance  # no SSH key: configured by user data only


def test_instances_require_imdsv2(turn_template: Template) -> None:
    templates = properties(turn_template, "AWS::EC2::LaunchTemplate")
    instances = _instances(turn_template)

    assert len(templates) == len(instances) == 2
    for launch_template in templates:
        assert launch_template["LaunchTemplateData"]["MetadataOptions"]["HttpTokens"] == "required"


def test_each_instance_gets_its_own_elastic_ip(turn_template: Template) -> None:
    addresses = resources(turn_template, "AWS::EC2::EIP")
    associations = properties(turn_template, "AWS::EC2::EIPAssociation")

    assert len(addresses) == 2
    assert {association["AllocationId"]["Fn::GetAtt"][0] for association in associations} == set(addresses)
    assert len({association["InstanceId"]["Ref"] for association in associations}) == 2


def test_security_group_opens_only_the_turn_ports_and_the_relay_range(turn_template: Template) -> None:
    groups = [
        group for group in properties(turn_template, "AWS::EC2::SecurityGroup") if "TURN" in group["GroupDescription"]
    ]
    (group,) = groups

    opened = {
        (rule["IpProtocol"], rule["FromPort"], rule["ToPort"], rule["CidrIp"]) for rule in group["SecurityGroupIngress"]
    }
    assert opened == {
        ("udp", 3478, 3478, "0.0.0.0/0"),
        ("tcp", 3478, 3478, "0.0.0.0/0"),
        ("udp", 49152, 65535, "0.0.0.0/0"),
        ("tcp", 443, 443, "0.0.0.0/0"),  # turns: (a domain is set)
        ("tcp", 80, 80, "0.0.0.0/0"),  # its certificate's HTTP-01 challenge
    }


def test_functions_hand_out_every_servers_urls_with_the_stacks_secret(turn_template: Template) -> None:
    addresses = sorted(resources(turn_template, "AWS::EC2::EIP"))
    secrets = resources(turn_template, "AWS::SecretsManager::Secret")
    (secret_id,) = secrets

    for function in signaling_functions(turn_template).values():
        variables = function["Environment"]["Variables"]
        urls = text(variables["TURN_URLS"]).split(",")
        assert urls == [
            f"turn:${{{addresses[0]}}}:3478?transport=udp",
            f"turn:${{{addresses[0]}}}:3478?transport=tcp",
            "turns:turn.example.com:443?transport=tcp",
            f"turn:${{{addresses[1]}}}:3478?transport=udp",
            f"turn:${{{addresses[1]}}}:3478?transport=tcp",
            "turns:turn-2.example.com:443?transport=tcp",
        ]
        assert variables["TURN_SECRET_ARN"] == {"Ref": secret_id}
    generated = secrets[secret_id]["Properties"]["GenerateSecretString"]
    assert generated["ExcludePunctuation"] is True
    assert generated["PasswordLength"] >= 32


def test_instance_role_reads_only_the_secret_and_writes_only_its_logs(turn_template: Template) -> None:
    (secret_id,) = resources(turn_template, "AWS::SecretsManager::Secret")
    (log_group,) = [key for key in resources(turn_template, "AWS::Logs::LogGroup") if key.startswith("Turn")]
    roles = {instance["IamInstanceProfile"]["Ref"] for instance in _instances(turn_template)}
    profiles = resources(turn_template, "AWS::IAM::InstanceProfile")
    (role,) = {profiles[profile]["Properties"]["Roles"][0]["Ref"] for profile in roles}

    statements = role_statements(turn_template, {"Role": {"Fn::GetAtt": [role, "Arn"]}})
    granted = {(action, json.dumps(statement["Resource"])) for statement in statements for action in actions(statement)}
    assert granted == {
        ("secretsmanager:GetSecretValue", json.dumps({"Ref": secret_id})),
        ("secretsmanager:DescribeSecret", json.dumps({"Ref": secret_id})),
        *(
            (action, json.dumps({"Fn::GetAtt": [log_group, "Arn"]}))
            for action in ("logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams")
        ),
    }
    assert not resources(turn_template, "AWS::IAM::ManagedPolicy")
    role_properties = resources(turn_template, "AWS::IAM::Role")[role]["Properties"]
    assert "ManagedPolicyArns" not in role_properties


@pytest.mark.parametrize(
    "line",
    [
        "apt-get -o Acquire::Retries=5 upgrade -y -q",  # patched on boot
        'APT::Periodic::Unattended-Upgrade "1";',  # and kept patched
        "use-auth-secret",
        "static-auth-secret=$SECRET",
        "no-cli",
        "listening-port=3478",
        "min-port=49152",
        "max-port=65535",
        "tls-listening-port=443",
        "syslog",
        *(f"denied-peer-ip={peer}" for peer in DENIED_PEERS),
    ],
)
def test_user_data_configures_coturn_securely(turn_template: Template, line: str) -> None:
    for script in _user_data(turn_template):
        assert line in script.splitlines()


def test_user_data_reads_the_secret_at_boot_and_never_holds_it(turn_template: Template) -> None:
    (secret_id,) = resources(turn_template, "AWS::SecretsManager::Secret")
    for number, script in enumerate(_user_data(turn_template), start=1):
        assert f"SECRET=$(/usr/local/sbin/parley-turn-secret '${{AWS::Region}}' '${{{secret_id}}}')" in script
        assert "allow-loopback-peers" not in script
        assert "apt-get -o Acquire::Retries=5 install -y -q coturn" in script
        assert "docker" not in script.lower()
        assert f"-d turn{'' if number == 1 else f'-{number}'}.example.com" in script


def test_alarms_recover_the_instance_and_say_when_it_is_down(turn_template: Template) -> None:
    alarms = properties(turn_template, "AWS::CloudWatch::Alarm")
    recover = [alarm for alarm in alarms if alarm.get("MetricName") == "StatusCheckFailed_System"]
    down = [alarm for alarm in alarms if alarm.get("MetricName") == "StatusCheckFailed"]

    assert len(recover) == len(down) == 2
    for alarm in recover:
        assert "arn:${AWS::Partition}:automate:${AWS::Region}:ec2:recover" in text(alarm["AlarmActions"][0])
    (topic,) = resources(turn_template, "AWS::SNS::Topic")
    for alarm in down:
        assert alarm["TreatMissingData"] == "breaching"  # a stopped instance reports nothing
        assert alarm["AlarmActions"] == [{"Ref": topic}]


def test_outputs_name_the_addresses_and_host_names(turn_template: Template) -> None:
    outputs = turn_template.to_json()["Outputs"]

    assert outputs["TurnHostNames"]["Value"] == "turn.example.com,turn-2.example.com"
    assert len(outputs["TurnAddresses"]["Value"]["Fn::Join"][1]) == 2
