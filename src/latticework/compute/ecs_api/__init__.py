"""The Amazon ECS API subset on the main endpoint (JSON 1.1, `X-Amz-Target: AmazonEC2ContainerServiceV20141113.*`),
so boto3 `ecs` and `aws ecs` drive Latticework's container-style services unchanged."""
