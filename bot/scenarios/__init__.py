"""The scenario runner around the pure engine: who enters, advancing enrollments, the ledger, the trace."""
