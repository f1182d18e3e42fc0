"""Versioned CMS reference data (NCCI, MUE, add-on, ICD-10-CM, HCPCS, POS)."""
