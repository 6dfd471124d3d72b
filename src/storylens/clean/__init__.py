"""storylens.clean."""
