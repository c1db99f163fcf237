"""Data access: the only modules that talk to DynamoDB and SQS. Everything above speaks in models."""
