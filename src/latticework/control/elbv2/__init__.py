"""The ELBv2 API subset (query protocol, botocore's `elbv2` model) on the main endpoint: load balancers, target
groups, listeners, rules, targets and their health, stored as records the data plane's ALB views read
(`dataplane/alb`). `app.ElbApi` is the API front; one module per resource holds its operations."""
