"""Local stand-in for API Gateway WebSocket + Lambda + DynamoDB (moto), running the real handlers."""
