"""The API describing itself: an index of entry points, the OpenAPI document and its docs page."""
