"""HTTP API doubles of the servers the project talks to, for tests that cannot run the real ones."""
