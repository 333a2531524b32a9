"""MedFedPure federation: the coordinating site's Flower ServerApp."""
