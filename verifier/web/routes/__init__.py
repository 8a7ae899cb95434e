"""The routes, one module per page or API area."""
