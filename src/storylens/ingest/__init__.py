"""storylens.ingest."""
