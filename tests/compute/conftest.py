"""Fixtures for the function runtime and the Lambda API: boto3 `lambda` clients against a real server, and
deployment packages built from handler source text."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from functions_kit import ROLE, lambda_client_for, package


@pytest.fixture
def lambda_client(server: Any) -> Any:
    return lambda_client_for(server)


@pytest.fixture
def make_function(lambda_client: Any, unique: Callable[[str], str]) -> Callable[..., str]:
    """Create a function from handler source (module `app`, handler `app.handler`); returns its name."""

    def make(source: str, **config: Any) -> str:
        name = unique("fn")
        lambda_client.create_function(
            FunctionName=name,
            Runtime=config.pop("Runtime", "python3.11"),
            Role=ROLE,
            Handler=config.pop("Handler", "app.handler"),
            Code={"ZipFile": package({"app.py": source})},
            **config,
        )
        return name

    return make
