"""Claim scrubbing: NCCI, MUE, add-on, code, diagnosis, modifier and NPI edits."""
