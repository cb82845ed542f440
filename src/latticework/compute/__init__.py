"""The compute layer: what runs the code behind targets. `functions` runs Lambda-style Python handlers in warm
worker processes; `lambda_api` serves the AWS Lambda API over them.

Nothing here makes routing decisions: the data plane decides, then asks compute to run something.
"""
