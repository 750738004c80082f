#!/usr/bin/env python3
"""The CDK app: `make synth` / `make deploy` run it through the pinned CDK CLI (see cdk.json)."""

from infra.app import build_app

build_app().synth()
