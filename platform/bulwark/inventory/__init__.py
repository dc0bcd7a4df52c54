"""Inventory: groups, hosts, credentials and pinned host keys."""
