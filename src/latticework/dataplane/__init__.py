"""The data plane: real traffic through service networks, services, listeners, rules and target groups.

Pure decision core (no I/O): `routing` (rules, weights, round robin), `snapshot`, `decide`; `http1` is the
sans-IO HTTP/1.1 reader. I/O shell: `relay`, `upstream`, `ingress`, `healthcheck`, `server`, `worker`.
"""
