"""The REST API of audits: audits, results, schedules, alerts, score history, starting audits."""
