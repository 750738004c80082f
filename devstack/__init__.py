"""Local stand-in for API Gateway WebSocket + Lambda + DynamoDB (moto), running the real handlers.

`python -m devstack` serves everything on one port; tests and benchmarks use `devstack.server.LocalStack`.
Modules: events (Lambda events as API Gateway shapes them), runtime (invoking handlers), gateway (the WebSocket
side), management (@connections), dynamodb (moto, the table, the request lock), environment (the handlers'
settings), traffic (counters), server (all of it on one aiohttp app)."""
