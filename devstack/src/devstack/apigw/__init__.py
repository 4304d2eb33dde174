"""The local API Gateway (HTTP API, payload 2.0): event builder, response mapping, the ASGI gateway."""
