"""The H100 sweeps that found the triangle variant (a record; see README.md)."""
