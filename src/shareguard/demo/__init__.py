"""The synthetic demo world (fixed seed; no real person's data)."""
