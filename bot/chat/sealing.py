"""Attachments sealed at rest: AES-256-GCM under the key of the settings (ATTACHMENT_KEY), the 12-byte nonce kept in
front of the ciphertext, and the key's id beside it so that keys can rotate (the old ones stay in
ATTACHMENT_OLD_KEYS until nothing they sealed is left). The attachment's own id is the associated data: a sealed
blob copied onto another row does not open there.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bot.platform.config import Settings

NONCE_BYTES = 12


class NoAttachmentKey(RuntimeError):
    """ATTACHMENT_KEY is not set: nothing is stored in the clear, so nothing is stored."""


class UnknownKey(LookupError):
    """The blob was sealed with a key the settings no longer hold."""


def key_id(key: bytes) -> str:
    """A short public name of a key (a digest, not the key): what a row records."""
    return "k" + hashlib.sha256(b"attachment-key:" + key).hexdigest()[:12]


@dataclass(frozen=True)
class Keyring:
    current: str  # the id of the key new attachments are sealed with
    keys: dict[str, bytes]

    @classmethod
    def from_settings(cls, settings: Settings) -> Keyring:
        if not settings.attachment_key:
            raise NoAttachmentKey("ATTACHMENT_KEY is not set")
        current = base64.b64decode(settings.attachment_key)
        keys = {key_id(k): k for k in (base64.b64decode(old) for old in settings.attachment_old_keys)}
        keys[key_id(current)] = current
        return cls(key_id(current), keys)

    def seal(self, plaintext: bytes, context: bytes) -> tuple[str, bytes]:
        """(key id, nonce + ciphertext and tag) under the current key."""
        nonce = os.urandom(NONCE_BYTES)
        return self.current, nonce + AESGCM(self.keys[self.current]).encrypt(nonce, plaintext, context)

    def open(self, key: str, sealed: bytes, context: bytes) -> bytes:
        """The plaintext; cryptography's InvalidTag when the blob, its context or the key is not the one sealed."""
        if key not in self.keys:
            raise UnknownKey(f"attachment key {key} is not among ATTACHMENT_KEY and ATTACHMENT_OLD_KEYS")
        return AESGCM(self.keys[key]).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], context)


def context_of(attachment_id: int) -> bytes:
    return f"attachment:{attachment_id}".encode()
