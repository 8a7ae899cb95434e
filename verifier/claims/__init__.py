"""Claims: a stamp's one-time confirmation under its scratch-off PIN, by web or SMS."""
