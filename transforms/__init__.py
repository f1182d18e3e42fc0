"""Pure stage logic over polars frames and plain data; never imports Dagster."""
