"""The OCOP stamp verification service, its storage and the ``ocop`` command."""
