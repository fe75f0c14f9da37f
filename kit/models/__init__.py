"""Model families used by the chapters, one module per family."""
