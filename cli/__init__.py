"""The `qdn` client: commands that talk to a running service over HTTP, and a simulated phone."""
