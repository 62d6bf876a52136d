"""Process plumbing: the work queue, daemon threads, the front door, the garbage collector's
schedule, health, metrics and logging.  Knows nothing of scans or Slack."""
