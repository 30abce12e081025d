"""Importing this module registers every admin command module on `handlers.admin.admin`."""

from handlers.admin import broadcast, desk, lookups, privacy, scenarios

MODULES = (scenarios, broadcast, lookups, desk, privacy)
