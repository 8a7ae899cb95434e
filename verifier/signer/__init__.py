"""Private keys and what is signed with them: key files, batch files."""
