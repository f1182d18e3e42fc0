"""One module per further `cptflow` command; each registers itself on the app."""
