"""A dev-only Azure Functions host: runs a `FunctionApp`'s HTTP, timer and blob functions with
the real binding types of the `azure-functions` package, on loopback and Azurite.

It stands in for `func start` on machines where Core Tools cannot be installed. Nothing in
`functions/` or `shared/` knows which host runs it.
"""

from localdev.host.host import LocalHost

__all__ = ["LocalHost"]
