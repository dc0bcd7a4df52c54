"""Shared pieces of the platform: encrypted fields, credential keys, redaction."""
