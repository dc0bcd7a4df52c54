"""The page views: dashboard, widgets and reports (dashboard.py), hosts and audits (hosts.py)."""
