"""storylens.api."""
