"""Management commands of the audits app, and the demo lab they start."""
