"""Importing this module registers every admin command module on `handlers.admin.admin`."""

from handlers.admin import desk, lookups, scenarios

MODULES = (scenarios, lookups, desk)
