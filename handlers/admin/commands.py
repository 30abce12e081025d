"""Importing this module registers every admin command module on `handlers.admin.admin`."""

from handlers.admin import broadcast, desk, lookups, scenarios

MODULES = (scenarios, broadcast, lookups, desk)
