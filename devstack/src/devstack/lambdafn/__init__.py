"""The function as Lambda runs it: its configuration from the template, and the RIE + Web Adapter runtime."""
