"""The suite that runs against LocalStack: `make localstack-up && make localstack-test` (docs/localstack.md)."""
