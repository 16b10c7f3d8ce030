"""The embedded local cloud. Lives outside chalicelib/ so it never ships in the Lambda zip."""
