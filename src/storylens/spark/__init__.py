"""storylens.spark."""
