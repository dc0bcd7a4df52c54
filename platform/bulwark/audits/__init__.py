"""Audits: runs, results, score history, schedules, thresholds and alerts."""
