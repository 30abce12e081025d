"""What arrives from LINE: the webhook, its group-commit ingest, events, the router and the handler context."""
