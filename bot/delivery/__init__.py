"""One ledger, four channels: dispatch, send jobs, rendering, consent, engagement, SMS receipts, broadcasts."""
