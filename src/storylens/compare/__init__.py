"""storylens.compare."""
