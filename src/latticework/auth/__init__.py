"""Authentication and authorization for the application network: SigV4/SigV4A verification (`sigv4`), IAM
policy evaluation (`policy`), the layered Lattice decision (`authorize`) and the local credential registry
(`principals`). Shared by the control plane (PutAuthPolicy validation, callers' accounts) and the data plane
(every request to an AWS_IAM service network or service). Pure code: no sockets, no clock reads."""
