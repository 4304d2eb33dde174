"""The local environment: emulators, the Lambda chain and the gateway, as host processes (no Docker)."""
