"""storylens.nlp."""
