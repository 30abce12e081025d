"""The LINE chat: answers through the ledger, dialog state, buttons, reachability, ID連携."""
