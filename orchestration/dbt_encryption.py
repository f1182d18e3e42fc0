"""A dbt-duckdb plugin for the `encrypted` target of dbt_project/profiles.yml.

dbt-duckdb runs `configure_connection` before its own ATTACH statements. This
plugin loads httpfs from its wheel (DuckDB writes encrypted files with its
OpenSSL, and dbt-duckdb would fetch a missing extension from the network), then
attaches the profile's databases, waiting for a file another process holds.
The profile's own `ATTACH IF NOT EXISTS` then finds them attached.
"""

from __future__ import annotations

import time
from typing import Any

import duckdb
import duckdb_extensions
from dbt.adapters.duckdb.plugins import BasePlugin


class Plugin(BasePlugin):
    """httpfs offline, and an ATTACH that waits for the file's lock."""

    def initialize(self, plugin_config: dict[str, Any]) -> None:
        """Read how many times a locked ATTACH is tried (1 + 2 + ... s between)."""
        self.attach_attempts = int(plugin_config.get("attach_attempts", 8))

    def configure_connection(self, conn: duckdb.DuckDBPyConnection) -> None:
        """Load httpfs from its wheel, then attach the profile's databases."""
        duckdb_extensions.import_extension("httpfs", con=conn)
        conn.execute("load httpfs")
        for attachment in self.creds.attach or []:
            self._attach(conn, attachment.to_sql())

    def _attach(self, conn: duckdb.DuckDBPyConnection, statement: str) -> None:
        # A Python step holding the file makes ATTACH fail with an IOException
        # ("Could not set lock"); the `local` target waits the same way.
        for attempt in range(self.attach_attempts):
            try:
                conn.execute(statement)
                return
            except duckdb.IOException:
                if attempt == self.attach_attempts - 1:
                    raise
                time.sleep(2**attempt)
