"""Importing the insurer's data files F1–F7 (CSV with the deck's Japanese headers) into the customer tables."""
