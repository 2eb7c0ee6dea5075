"""Protocol client, load generator and metrics for ``voice-interview bench``."""
