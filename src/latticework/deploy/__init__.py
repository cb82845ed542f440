"""The CloudFormation-subset deployer: templates (YAML with short tags, or JSON) -> resources through the
server's API. Pure parts: `template`, `intrinsics`, `parameters`, `graph`; the engine drives `providers`, which
are clients of the control plane (DESIGN 1: deploy calls the control plane, never the store's resource
records); stack records live in the store as kind `stack` (`stacks`). See docs/templates.md."""
