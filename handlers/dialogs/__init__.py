"""The chat's dialogs: importing this package registers every dialog module on `handlers.conversation.chat`."""

from handlers.dialogs import email_capture, menu

MODULES = (menu, email_capture)
