"""Supplier and production lots: incoming inspection's verdict, and transformations (split,
merge, rework) recorded through the API."""
