"""Device registry: births, heartbeats, events, commands and the admin actions on them."""
