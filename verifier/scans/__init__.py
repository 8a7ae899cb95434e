"""Scans: the recorder that writes them off the request path, clone rules, the desk's findings."""
