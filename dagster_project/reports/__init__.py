"""Compliance reports: frameworks as YAML files, evidence from aggregations, HTML/PDF/CSV, delivery."""
