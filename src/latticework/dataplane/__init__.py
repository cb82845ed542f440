"""The data plane: real traffic through service networks, services, listeners, rules and target groups.

`routing` is the pure decision core (no I/O): which rule, which target group, which target.
"""
