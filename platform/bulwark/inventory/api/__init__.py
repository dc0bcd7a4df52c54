"""The REST API of the inventory: groups, hosts, credentials, memberships."""
