"""Replication the emulator does not do: DynamoDB global tables and S3 cross-region replication,
following the configuration an account would hold, delayed, pausable per table or bucket (as AWS
FIS pauses them), cut when a region's network is (``workers``); ECR registry replication (``ecr``)."""
