"""Storage: the database, its tables and migrations, the audit chain and backups."""
