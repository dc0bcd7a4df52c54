"""The REST API of the check catalogue: policies (and their import) and checks."""
