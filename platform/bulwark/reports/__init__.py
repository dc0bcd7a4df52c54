"""Report queries, daily aggregates, PDF/JSON/CSV reports and Prometheus metrics."""
