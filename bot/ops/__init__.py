"""On-call operations: ``scanbot check`` (console, auth, regular scan, database)."""
