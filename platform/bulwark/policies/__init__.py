"""Policies: the check catalogue, a database mirror of rulesets/ plus imported policies."""
