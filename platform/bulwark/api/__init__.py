"""The REST API as one: every app's routes under /api/, the schema, docs and token auth."""
