"""Denial reporting: spike statistics, report data, charts, snapshot and page images."""
