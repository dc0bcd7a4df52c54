"""The pages a person sees: dashboard, hosts, audits, results, widgets, reports."""
