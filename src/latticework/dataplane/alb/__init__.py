"""Application Load Balancers on the Lattice relay (ELBv2 semantics).

Why here, beside the Lattice data plane and not in a package of its own: an ALB is not a second proxy, it is
the same relay with a different decision core. The pure half (`names`, `conditions`, `actions`, `decide`,
`views`) sits next to Lattice's `routing`/`decide`/`snapshot`, and the control plane's ELBv2 API
(`control/elbv2`) imports it to validate rules with exactly the code that runs them. The one I/O module is
`listeners` (listening sockets and the relay connection subclass that asks `decide` instead of Lattice's).
"""
