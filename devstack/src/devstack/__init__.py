"""The local environment: the emulators, the Lambda chain (RIE + Web Adapter) and an HTTP API gateway."""
