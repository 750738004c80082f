"""AWS CDK constructs and stack for the signaling service and the static site."""
