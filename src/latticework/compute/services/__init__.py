"""Container-style services (ECS semantics) run as local processes: the task lifecycle, restart backoff and the
rolling-deployment planner (pure), the process runner and the supervisor that keeps the store's tasks and
services true (I/O). The ECS API (`compute/ecs_api`) writes definitions; only the supervisor starts processes."""
