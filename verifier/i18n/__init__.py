"""User-facing words, Vietnamese first."""
