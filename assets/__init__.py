"""Dagster assets: thin wrappers that read, call transforms, and write DuckDB."""
