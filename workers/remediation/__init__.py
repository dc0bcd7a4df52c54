"""Remediation scripts from audit results: which failed checks have a fix, in what order, and
one renderer per format (shell.py, playbook.py, powershell.py). Nothing here runs anything."""
