"""The catalog: categories, products, faceted product search and ingestion from DummyJSON-shaped sources."""
