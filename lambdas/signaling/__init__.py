"""WebRTC signaling on API Gateway WebSocket + Lambda + DynamoDB."""
