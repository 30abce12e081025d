"""Service notices to a list of customers: bot/notices/lists.py reads and matches it, sending.py sends it."""
