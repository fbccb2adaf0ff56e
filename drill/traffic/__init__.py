"""What a drill sends: canary writes to every replicated store (``canary``: the writers;
``stores``: RDS, DynamoDB and S3 behind one protocol), and user traffic (``locust``: the load
generator in its own processes, and the reader of its request log).

May import: ``drill.core``, ``drill.targets``, ``drill.ops``.
"""
