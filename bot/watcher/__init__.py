"""Following scans: the watch lifecycle, the poll cycle, and the scheduler that runs it."""
