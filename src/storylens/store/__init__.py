"""storylens.store."""
