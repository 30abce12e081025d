"""The RQ side: queues and their policy, every job entry point, the periodic tick."""
