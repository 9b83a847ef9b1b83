"""好差评: citizens rate the service of a window after it finished (see docs/workstation.md)."""
