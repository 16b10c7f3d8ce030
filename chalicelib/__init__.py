"""The serverless platform's application code: everything that ships in the Lambda package."""

__version__ = "0.1.0"
