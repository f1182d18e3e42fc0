"""Great Expectations suites, one per asset key, run as blocking asset checks."""
