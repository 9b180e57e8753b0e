"""What the service says and decides: pure functions, no HTTP, Twilio, or files."""
