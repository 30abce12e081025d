"""Tools for a laptop and the tests, never shipped nor imported by the service: the LINE Messaging API emulator,
`make run`'s launcher, `make demo` with its sample data, and the chat simulator (mounted by the app only in local
mode, through one lazy import in app.py)."""
