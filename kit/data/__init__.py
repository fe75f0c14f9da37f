"""Data for the chapters, one module per kind (all locations come from kit.paths)."""
