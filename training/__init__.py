"""Datasets, surrogate networks assembled from models/, the BPTT trainer and back-annotation."""
