"""Model engines: one shared instance of each per process, run off the event loop."""
