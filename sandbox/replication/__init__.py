"""Replication the emulator does not do: DynamoDB global tables (``dynamodb``) and S3 cross-region
replication (``s3``), following the configuration an account would hold, delayed, pausable per
table or bucket (as AWS FIS pauses them), cut when a region's network is (both on ``worker``);
ECR registry replication (``ecr``).

May import: ``drill.core``; nothing else of the twin (its parts are handed in as callables).
"""
