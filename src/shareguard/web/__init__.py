"""HTTP: the JSON API and the console."""
