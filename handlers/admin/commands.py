"""The admin command modules, in the order /help lists their commands (`build_admin` registers them)."""

from handlers.admin import broadcast, desk, handover, lookups, privacy, scenarios

MODULES = (broadcast, lookups, desk, handover, privacy, scenarios)
