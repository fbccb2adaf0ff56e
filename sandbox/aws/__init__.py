"""The twin's AWS: moto in server mode on loopback (``server``, with the LocalStack router), the
behaviour moto stores but does not do (``ext_*`` modules: RDS, Route 53, DynamoDB, S3, EC2,
CloudWatch history, SNS delivery, FIS experiments, Cognito triggers, EKS limits), the Lambda
stand-ins (``lambdas``), alarms and metrics (``alarms``), FIS actions (``fis``), and the
provisioner that builds a policy's two regions with ordinary boto3 calls (``provision``).

May import: ``drill.core``; of the twin, ``sandbox.events`` (the hooks it fires) and
``sandbox.replication`` (what FIS pauses).
"""
