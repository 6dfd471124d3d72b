"""storylens.stories."""
