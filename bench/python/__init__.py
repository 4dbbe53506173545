"""Python contexts of the crossbuf benchmark suite (see bench/README.md)."""
