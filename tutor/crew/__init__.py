"""Crews composed from agents.yaml and tasks.yaml: schema, loading with overrides, building, running."""
