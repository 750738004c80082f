"""`make bench`: call setup in real browsers, relay latency, cold start, AWS operations per action, and cost."""
