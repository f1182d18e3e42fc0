"""Dagster definitions, resources, partitions, schedules, sensors and the CLI."""
