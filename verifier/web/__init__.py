"""The web role: the FastAPI app, its routes, pages, templates and static files."""
